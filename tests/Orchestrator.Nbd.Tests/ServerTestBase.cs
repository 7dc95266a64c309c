namespace Orchestrator.Nbd.Tests;

/// <summary>A fresh <see cref="ServerUnderTest"/> for every test of a class.</summary>
public abstract class ServerTestBase : IAsyncLifetime
{
    internal ServerUnderTest Server { get; private set; } = null!;

    public virtual Task InitializeAsync()
    {
        Server = new ServerUnderTest();
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync() => await Server.DisposeAsync();
}
