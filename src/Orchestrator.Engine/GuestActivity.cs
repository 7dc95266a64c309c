namespace Orchestrator.Engine;

/// <summary>
/// Whether a disk's guest is doing I/O, for a copy that gives the guest way: a copy's large requests queue ahead of a
/// guest's small ones on the device, so while the guest is active the copy starts its I/O in the guest's gaps and
/// keeps it small. Lock-free: guest requests only bump a counter and a clock.
/// </summary>
internal sealed class GuestActivity
{
    private int _inFlight;
    private long _lastEnd = long.MinValue / 2;

    /// <summary>Marks one guest request in flight until the returned value is disposed.</summary>
    public Request Begin()
    {
        Interlocked.Increment(ref _inFlight);
        return new Request(this);
    }

    /// <summary>True while a guest request is in flight or ended less than <paramref name="window"/> ago.</summary>
    public bool ActiveWithin(TimeSpan window) =>
        Volatile.Read(ref _inFlight) != 0 || Environment.TickCount64 - Volatile.Read(ref _lastEnd) < (long)window.TotalMilliseconds;

    /// <summary>Waits, at most <paramref name="limit"/> (the copy must not starve), until no guest request is in flight.</summary>
    public void WaitForGap(TimeSpan limit)
    {
        if (Volatile.Read(ref _inFlight) == 0)
        {
            return;
        }

        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        var spin = new SpinWait();
        while (Volatile.Read(ref _inFlight) != 0 && Environment.TickCount64 < deadline)
        {
            // Gaps between a queue-depth-1 guest's requests last microseconds: yield, never sleep a whole millisecond.
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public readonly struct Request(GuestActivity owner) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.Decrement(ref owner._inFlight);
            Volatile.Write(ref owner._lastEnd, Environment.TickCount64);
        }
    }
}
