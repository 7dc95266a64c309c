using Orchestrator.Nbd;

namespace Orchestrator.Node.Exports;

/// <summary>
/// Orders NBD requests on one disk against its unregistration. Requests hold the gate shared while they run, any
/// number at once; unregistering stops new requests from entering, waits for the ones in progress, asks the engine,
/// and closes the gate for good if the disk is gone, so that no NBD request ever reaches a disposed disk. Requests
/// that waited meanwhile then get ESHUTDOWN, or go on if the disk stayed.
/// </summary>
internal sealed class ExportGate
{
    private readonly object _monitor = new();
    private readonly SemaphoreSlim _closers = new(1, 1);
    private int _active;
    private bool _closing;
    private bool _closed;
    private TaskCompletionSource? _drained;

    /// <summary>Held while one request runs.</summary>
    /// <exception cref="NbdExportException">ESHUTDOWN: the disk was unregistered.</exception>
    public Scope Enter(string disk)
    {
        lock (_monitor)
        {
            while (_closing && !_closed)
            {
                Monitor.Wait(_monitor);
            }

            if (_closed)
            {
                throw new NbdExportException(NbdError.Shutdown, $"disk '{disk}' was unregistered");
            }

            _active++;
        }

        return new Scope(this);
    }

    /// <summary>Runs <paramref name="unregister"/> with no request in progress; closes the gate for good when <paramref name="gone"/> says so.</summary>
    public async Task<T> CloseIfAsync<T>(Func<Task<T>> unregister, Func<T, bool> gone)
    {
        await _closers.WaitAsync();
        try
        {
            Task drained;
            lock (_monitor)
            {
                _closing = true;
                _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_active == 0)
                {
                    _drained.TrySetResult();
                }

                drained = _drained.Task;
            }

            await drained;
            var result = default(T);
            try
            {
                result = await unregister();
                return result;
            }
            finally
            {
                lock (_monitor)
                {
                    _closed |= result is not null && gone(result);
                    _closing = false;
                    Monitor.PulseAll(_monitor);
                }
            }
        }
        finally
        {
            _closers.Release();
        }
    }

    private void Exit()
    {
        lock (_monitor)
        {
            if (--_active == 0 && _closing)
            {
                _drained?.TrySetResult();
            }
        }
    }

    public readonly struct Scope(ExportGate owner) : IDisposable
    {
        public void Dispose() => owner.Exit();
    }
}
