namespace Orchestrator.Engine.Pacing;

/// <summary>
/// The pacing of one live copy: asks <see cref="GuestPacer"/> before each step (batch size, read-ahead, each request's
/// size) and waits for a gap between guest requests only while it yields. Called from the copy's task and its
/// read-ahead task: the remembered decision is a plain volatile value, and a race between two calls only means one of
/// them decided from a slightly older measure.
/// </summary>
internal sealed class AdaptivePacing
{
    /// <summary>A yielding copy waits at most this long for a gap between guest requests (the copy must not starve).</summary>
    public static readonly TimeSpan GapWait = TimeSpan.FromMilliseconds(5);

    private readonly Func<GuestPressure> _pressure;
    private readonly Action<TimeSpan> _waitForGap;
    private readonly int _ceilingBytes;
    private volatile bool _yielding;
    private volatile int _ioBytes;

    /// <param name="pressure">What the guest waits now (<see cref="LiveDisk"/>'s measure).</param>
    /// <param name="waitForGap">Waits, at most the given time, until no guest request is in flight.</param>
    /// <param name="ceilingBytes">The largest request of a yielding copy (<c>--guest-yield-size</c>).</param>
    public AdaptivePacing(Func<GuestPressure> pressure, Action<TimeSpan> waitForGap, int ceilingBytes)
    {
        if (ceilingBytes < GuestPacer.MinIoBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(ceilingBytes), ceilingBytes, $"must be at least {GuestPacer.MinIoBytes} bytes");
        }

        _pressure = pressure;
        _waitForGap = waitForGap;
        _ceilingBytes = ceilingBytes;
        _ioBytes = ceilingBytes;
    }

    /// <summary>Decides again from what the guest waits now; true when the copy yields.</summary>
    public bool Yield()
    {
        var decision = GuestPacer.Decide(_pressure(), _yielding, _ceilingBytes);
        _ioBytes = decision.Yield ? decision.IoBytes : _ceilingBytes;
        _yielding = decision.Yield;
        return decision.Yield;
    }

    /// <summary>The largest request of a yielding copy, as last decided (at most the ceiling).</summary>
    public int IoBytes => _ioBytes;

    /// <summary>Before a copy's device request: while yielding, waits for a moment with no guest request in flight.</summary>
    public void BeforeIo()
    {
        if (_yielding)
        {
            _waitForGap(GapWait);
        }
    }
}
