using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>One node shared by the tests of a class (each test uses its own disk ids and image names).</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    private readonly TempDirectory _folder = new("node");

    public NodeProcess Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await NodeProcess.StartAsync(_folder.Path);

    public async Task DisposeAsync()
    {
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        _folder.Dispose();
    }
}
