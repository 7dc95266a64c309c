namespace Orchestrator.Engine.Pacing;

/// <summary>
/// The pacing rule of a live copy, pure: the copy yields only while the guest actually waits, on the metadata lock
/// (requests queued behind it) or on the device (its recent latency well above its own service time), and runs at
/// full speed otherwise, however active the guest is. The configured yield size (<c>--guest-yield-size</c>) is the
/// ceiling of a yielding copy's requests: the longer the guest waits, the smaller they get, down to 4 KiB.
/// </summary>
internal static class GuestPacer
{
    /// <summary>Smallest request of a yielding copy (the copier rounds it up to its cluster size).</summary>
    public const int MinIoBytes = 4 * 1024;

    /// <summary>A guest idle this long (nothing in flight) waits for nothing: its old latencies say nothing about now.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits shorter than this are noise (a page-cache request takes tens of microseconds), not queueing.</summary>
    public static readonly TimeSpan NoticeableWait = TimeSpan.FromMicroseconds(50);

    /// <summary>The copy starts yielding when the guest's recent latency is this many times its service time...</summary>
    public const double EnterRatio = 1.5;

    /// <summary>...and stops once it is back under this (hysteresis: the copy does not flip on every request).</summary>
    public const double LeaveRatio = 1.2;

    /// <summary>Decides the next step from what the guest waits now and whether the copy was yielding already.</summary>
    public static PacingDecision Decide(GuestPressure pressure, bool wasYielding, int ceilingBytes)
    {
        if (ceilingBytes < MinIoBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(ceilingBytes), ceilingBytes, $"must be at least {MinIoBytes} bytes");
        }

        if (pressure.InFlight == 0 && pressure.SinceLastRequest >= IdleAfter)
        {
            return PacingDecision.FullSpeed;
        }

        var ratio = Ratio(pressure);
        var waitsOnDevice = pressure.Wait >= NoticeableWait && ratio >= (wasYielding ? LeaveRatio : EnterRatio);
        if (pressure.QueuedOnLock == 0 && !waitsOnDevice)
        {
            return PacingDecision.FullSpeed;
        }

        return new PacingDecision(true, IoBytes(ratio, ceilingBytes));
    }

    /// <summary>The ceiling while the wait is under 2x the entry ratio, halved for each further doubling of the wait.</summary>
    private static int IoBytes(double ratio, int ceilingBytes)
    {
        var halvings = ratio < 2 * EnterRatio ? 0 : (int)Math.Min(20, Math.Floor(Math.Log2(ratio / EnterRatio)));
        return Math.Max(MinIoBytes, ceilingBytes >> halvings);
    }

    private static double Ratio(GuestPressure pressure)
    {
        if (pressure.RecentLatency <= TimeSpan.Zero)
        {
            return 1;
        }

        // No floor yet (the first requests): the floor is the latency itself, nothing waits.
        var floor = pressure.FloorLatency > TimeSpan.Zero ? pressure.FloorLatency : pressure.RecentLatency;
        return pressure.RecentLatency / floor;
    }
}
