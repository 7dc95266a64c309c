using System.Runtime.CompilerServices;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine;
using Orchestrator.Engine.Disks;
using Orchestrator.Nbd;

namespace Orchestrator.Node.Exports;

/// <summary>
/// Every disk whose chain is open on this node as an NBD export named by its disk id, found at each handshake in the
/// node's <see cref="LocalDisks"/> (no live object travels through the actors); all read-only when the node serves NBD
/// read-only (--nbd-read-only). Each export is metered (<see cref="MeteredExport"/>).
/// </summary>
public sealed class DiskExports(LocalDisks disks, NodeOptions options) : INbdExportProvider
{
    // One gate per LiveDisk object (not per id): a disk unregistered and registered again gets a new LiveDisk, and
    // connections to the old one must stay shut out.
    private readonly ConditionalWeakTable<LiveDisk, ExportGate> _gates = [];

    public ValueTask<INbdExport?> FindAsync(string name, CancellationToken cancel)
    {
        var disk = IdRule.IsValid(name) ? disks.Find(new DiskId(name)) : null;
        return ValueTask.FromResult<INbdExport?>(disk is null
            ? null
            : new MeteredExport(new LiveDiskExport(name, disk, _gates.GetOrCreateValue(disk), options.NbdReadOnly)));
    }

    public ValueTask<IReadOnlyList<string>> ListAsync(CancellationToken cancel) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. disks.Open.Select(d => d.Value)]);

    /// <summary>
    /// Runs <paramref name="unregister"/> with no NBD request in progress on the disk; when it succeeds, the disk's
    /// exports refuse every later request (ESHUTDOWN) and <paramref name="closeConnections"/> ends their connections.
    /// </summary>
    public async Task<object> UnregisterAsync(DiskId disk, Func<Task<object>> unregister, Func<Task> closeConnections, CancellationToken cancel)
    {
        var live = disks.Find(disk);
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
}
