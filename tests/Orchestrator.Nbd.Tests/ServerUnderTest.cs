using Orchestrator.Testing;

namespace Orchestrator.Nbd.Tests;

/// <summary>An <see cref="NbdServer"/> on a Unix socket in a temporary folder, serving two memory exports.</summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    public const int DiskSize = 4 * 1024 * 1024;
    private readonly TempDirectory _folder = new("nbd");

    public ServerUnderTest(NbdServerOptions? options = null)
    {
        Disk = new MemoryExport("disk1", DiskSize);
        Other = new MemoryExport("other", 1024 * 1024);
        SocketPath = _folder.Combine("nbd.sock");
        Server = new NbdServer(new MemoryExports(Disk, Other), options: options);
        Server.ListenUnix(SocketPath);
    }

    public MemoryExport Disk { get; }

    public MemoryExport Other { get; }

    public NbdServer Server { get; }

    public string SocketPath { get; }

    public string Folder => _folder.Path;

    /// <summary>The URI libnbd and QEMU take for an export of this server.</summary>
    public string Uri(string export) => $"nbd+unix:///{export}?socket={SocketPath}";

    public Task<RawNbdClient> ConnectAsync() => RawNbdClient.ConnectAsync(SocketPath);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _folder.Dispose();
    }
}
