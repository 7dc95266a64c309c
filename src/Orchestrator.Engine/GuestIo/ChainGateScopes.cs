namespace Orchestrator.Engine.GuestIo;

/// <summary>The chain gate held shared (a guest request) until disposed.</summary>
internal readonly struct SharedChain : IDisposable
{
    private readonly ReaderWriterLockSlim _gate;

    public SharedChain(ReaderWriterLockSlim gate)
    {
        _gate = gate;
        gate.EnterReadLock();
    }

    public void Dispose() => _gate.ExitReadLock();
}

/// <summary>The chain gate held exclusively (a switch of images) until disposed: no guest request is in flight.</summary>
internal readonly struct ExclusiveChain : IDisposable
{
    private readonly ReaderWriterLockSlim _gate;

    public ExclusiveChain(ReaderWriterLockSlim gate)
    {
        _gate = gate;
        gate.EnterWriteLock();
    }

    public void Dispose() => _gate.ExitWriteLock();
}
