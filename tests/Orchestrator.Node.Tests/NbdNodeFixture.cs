using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>A node that also serves NBD over TCP on a free loopback port (--nbd 127.0.0.1:0), shared by a test class.</summary>
public sealed class NbdNodeFixture : IAsyncLifetime
{
    private readonly TempDirectory _folder = new("nbd-node");

    public NodeProcess Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await NodeProcess.StartAsync(_folder.Path, "--nbd", "127.0.0.1:0");

    public async Task DisposeAsync()
    {
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        _folder.Dispose();
    }
}
