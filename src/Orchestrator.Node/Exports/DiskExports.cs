using System.Runtime.CompilerServices;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine;
using Orchestrator.Nbd;
using Orchestrator.Node.Api;

namespace Orchestrator.Node.Exports;

/// <summary>
/// Every registered disk as an NBD export named by its disk id, resolved through the engine at each handshake; all
/// read-only when the node serves NBD read-only (--nbd-read-only).
/// </summary>
public sealed class DiskExports(EngineGateway engine, NodeOptions options) : INbdExportProvider
{
    // One gate per LiveDisk object (not per id): a disk unregistered and registered again gets a new LiveDisk, and
    // connections to the old one must stay shut out.
    private readonly ConditionalWeakTable<LiveDisk, ExportGate> _gates = [];

    public async ValueTask<INbdExport?> FindAsync(string name, CancellationToken cancel)
    {
        var disk = await LiveDiskAsync(new DiskId(name), cancel);
        return disk is null ? null : new LiveDiskExport(name, disk, _gates.GetOrCreateValue(disk), options.NbdReadOnly);
    }

    public async ValueTask<IReadOnlyList<string>> ListAsync(CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.ListDisks(), cancel);
        return reply is ManagerCommands.DiskList list ? [.. list.Disks.Select(d => d.Disk)] : [];
    }

    /// <summary>
    /// Runs <paramref name="unregister"/> with no NBD request in progress on the disk; when it succeeds, the disk's
    /// exports refuse every later request (ESHUTDOWN) and <paramref name="closeConnections"/> ends their connections.
    /// </summary>
    public async Task<object> UnregisterAsync(DiskId disk, Func<Task<object>> unregister, Func<Task> closeConnections, CancellationToken cancel)
    {
        var live = await LiveDiskAsync(disk, cancel);
        if (live is null)
        {
            return await unregister();
        }

        var reply = await _gates.GetOrCreateValue(live).CloseIfAsync(unregister, r => r is DiskReplies.Done);
        if (reply is DiskReplies.Done)
        {
            await closeConnections();
        }

        return reply;
    }

    private async Task<LiveDisk?> LiveDiskAsync(DiskId disk, CancellationToken cancel) =>
        await engine.AskAsync(new EngineMessages.GetLiveDisk(disk), cancel) as LiveDisk;
}
