using System.Diagnostics;
using Orchestrator.Engine.Pacing;

namespace Orchestrator.Engine;

/// <summary>
/// Whether a disk's guest is doing I/O and how long it waits, for a copy that gives the guest way only while it waits:
/// a copy's large requests queue ahead of a guest's small ones on the device and its metadata steps hold the lock the
/// guest needs. Each guest request's latency, arrival to completion, feeds a recent average and a floor (the guest's
/// own service time); the copy reads the gap between them. Lock-free: guest requests only bump a counter and update
/// two averages (a race between two updates drops one sample, which costs nothing).
/// </summary>
internal sealed class GuestActivity
{
    /// <summary>The recent average weighs each new latency 1/8: a few requests show a change, one outlier does not.</summary>
    private const int RecentShift = 3;

    /// <summary>The floor drops by half the gap to a lower latency at once, and rises by 1/64 of the gap to a higher one.</summary>
    private const int FloorRiseShift = 6;

    private int _inFlight;
    private long _lastEnd = long.MinValue / 2;
    private long _recentTicks;
    private long _floorTicks;

    /// <summary>Marks one guest request in flight until the returned value is disposed; its latency is recorded then.</summary>
    public Request Begin()
    {
        Interlocked.Increment(ref _inFlight);
        return new Request(this, Stopwatch.GetTimestamp());
    }

    /// <summary>True while a guest request is in flight or ended less than <paramref name="window"/> ago.</summary>
    public bool ActiveWithin(TimeSpan window) =>
        Volatile.Read(ref _inFlight) != 0 || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastEnd)) < window;

    /// <summary>What the guest waits now, with <paramref name="queuedOnLock"/> requests queued on the metadata lock.</summary>
    public GuestPressure Pressure(int queuedOnLock)
    {
        var inFlight = Volatile.Read(ref _inFlight);
        var since = inFlight != 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(Volatile.Read(ref _lastEnd));
        return new GuestPressure(inFlight, queuedOnLock, Ticks(Volatile.Read(ref _recentTicks)), Ticks(Volatile.Read(ref _floorTicks)), since);
    }

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

    /// <summary>Adds one completed request's latency to the recent average and the floor.</summary>
    internal void Record(TimeSpan latency)
    {
        var sample = Math.Max(1, (long)(latency.TotalSeconds * Stopwatch.Frequency));
        var recent = Volatile.Read(ref _recentTicks);
        Volatile.Write(ref _recentTicks, recent == 0 ? sample : recent + ((sample - recent) >> RecentShift));
        var floor = Volatile.Read(ref _floorTicks);
        var next = floor == 0 ? sample : sample < floor ? floor - ((floor - sample) >> 1) : floor + ((sample - floor) >> FloorRiseShift);
        Volatile.Write(ref _floorTicks, Math.Max(1, next));
    }

    private static TimeSpan Ticks(long stopwatchTicks) => TimeSpan.FromSeconds((double)stopwatchTicks / Stopwatch.Frequency);

    public readonly struct Request(GuestActivity owner, long started) : IDisposable
    {
        public void Dispose()
        {
            var now = Stopwatch.GetTimestamp();
            owner.Record(Stopwatch.GetElapsedTime(started, now));
            Volatile.Write(ref owner._lastEnd, now);
            Interlocked.Decrement(ref owner._inFlight);
        }
    }
}
