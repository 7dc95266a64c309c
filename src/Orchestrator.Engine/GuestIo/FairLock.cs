namespace Orchestrator.Engine;

/// <summary>
/// A first-come, first-served lock (a ticket lock on a monitor). .NET's Monitor is not fair: a guest issuing requests
/// back to back can re-take it before a waiting copy step ever gets in, and a stream would starve under load.
/// </summary>
internal sealed class FairLock
{
    private readonly object _monitor = new();
    private long _nextTicket;
    private long _serving;

    /// <summary>
    /// Entries waiting behind the holder now (a racy read, good for pacing): a guest request queued here waits for
    /// whatever holds the lock, often a copy's metadata step.
    /// </summary>
    public int Queued => (int)Math.Max(0, Volatile.Read(ref _nextTicket) - Volatile.Read(ref _serving) - 1);

    public Releaser Enter()
    {
        lock (_monitor)
        {
            var ticket = _nextTicket++;
            while (ticket != _serving)
            {
                Monitor.Wait(_monitor);
            }
        }

        return new Releaser(this);
    }

    private void Exit()
    {
        lock (_monitor)
        {
            _serving++;
            Monitor.PulseAll(_monitor);
        }
    }

    public readonly struct Releaser(FairLock owner) : IDisposable
    {
        public void Dispose() => owner.Exit();
    }
}
