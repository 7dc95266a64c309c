using Orchestrator.Nbd;

namespace Orchestrator.Node.Exports;

/// <summary>
/// Orders NBD requests on one disk against its unregistration. A request holds the gate while it runs; unregistering
/// takes the gate (so the request in progress finishes first), asks the engine, and closes the gate if the disk is gone,
/// so that no NBD request ever reaches a disposed disk. The disk's own lock serialises requests anyway; this adds no
/// waiting of its own beyond that.
/// </summary>
internal sealed class ExportGate
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private bool _closed;

    /// <summary>Held while one request runs.</summary>
    /// <exception cref="NbdExportException">ESHUTDOWN: the disk was unregistered.</exception>
    public Scope Enter(string disk)
    {
        _lock.Wait();
        if (_closed)
        {
            _lock.Release();
            throw new NbdExportException(NbdError.Shutdown, $"disk '{disk}' was unregistered");
        }

        return new Scope(_lock);
    }

    /// <summary>Runs <paramref name="unregister"/> with no request in progress; closes the gate for good when <paramref name="gone"/> says so.</summary>
    public async Task<T> CloseIfAsync<T>(Func<Task<T>> unregister, Func<T, bool> gone)
    {
        await _lock.WaitAsync();
        try
        {
            var result = await unregister();
            _closed |= gone(result);
            return result;
        }
        finally
        {
            _lock.Release();
        }
    }

    public readonly struct Scope(SemaphoreSlim held) : IDisposable
    {
        public void Dispose() => held.Release();
    }
}
