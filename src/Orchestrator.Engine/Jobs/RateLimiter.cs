namespace Orchestrator.Engine;

/// <summary>
/// QEMU's block job rate limit (include/qemu/ratelimit.h): time is cut into 100 ms slices; a slice may carry
/// speed x 0.1 s bytes; past the quota the job waits for the next slice. Speed 0 means unlimited. Pure: the
/// caller passes the clock, so it is tested without sleeping.
/// </summary>
public sealed class RateLimiter
{
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    /// <summary>Slices per second: the quota is speed / this, which cannot overflow (speed x slice ticks did, for huge speeds).</summary>
    private static readonly long SlicesPerSecond = TimeSpan.TicksPerSecond / Slice.Ticks;

    private long _speed;
    private TimeSpan _sliceStart;
    private long _dispatched;

    /// <summary>Bytes per second; any value up to <see cref="long.MaxValue"/> is accepted (QEMU's speed is an int64 too).</summary>
    public long Speed
    {
        get => _speed;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _speed = value;
        }
    }

    /// <summary>Accounts <paramref name="bytes"/> about to be copied at <paramref name="now"/>; returns how long to wait first.</summary>
    public TimeSpan Delay(long bytes, TimeSpan now)
    {
        if (_speed == 0)
        {
            return TimeSpan.Zero;
        }

        var quota = Math.Max(_speed / SlicesPerSecond, 1);
        if (now - _sliceStart >= Slice)
        {
            // A new slice; a large request may carry over into the slices after it, as in QEMU. Slices enough to
            // drain what was dispatched clear it; only fewer are multiplied by the quota, so that never overflows.
            var elapsedSlices = (now - _sliceStart).Ticks / Slice.Ticks;
            _sliceStart += TimeSpan.FromTicks(elapsedSlices * Slice.Ticks);
            _dispatched = elapsedSlices > _dispatched / quota ? 0 : _dispatched - (elapsedSlices * quota);
        }

        if (_dispatched < quota)
        {
            // Saturating: a quota near long.MaxValue plus a batch must not wrap to a negative count.
            _dispatched = bytes > long.MaxValue - _dispatched ? long.MaxValue : _dispatched + bytes;
            return TimeSpan.Zero;
        }

        var slicesAhead = _dispatched / quota;
        var wait = _sliceStart + TimeSpan.FromTicks(slicesAhead * Slice.Ticks) - now;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }
}
