using Orchestrator.Engine.Pacing;
using Xunit;

namespace Orchestrator.Engine.Tests.Pacing;

/// <summary>The pacing rule as a table: what the guest waits, and whether the copy yielded already, give the next step.</summary>
public sealed class GuestPacerTests
{
    private const int K = 1024;
    private const int Ceiling = 128 * K;
    private const int Full = int.MaxValue;
    private const double Never = double.PositiveInfinity;

    [Theory]
    // in flight, queued on the lock, recent / floor latency (us), ms since the last request, was yielding -> yield, request size
    [InlineData(0, 0, 0, 0, Never, false, false, Full)] // a guest that never did anything
    [InlineData(0, 0, 5000, 100, 20.0, true, false, Full)] // idle for 20 ms: its old waits are stale
    [InlineData(1, 0, 110, 100, 0.0, false, false, Full)] // busy, but waits 10 us: no reason to yield
    [InlineData(16, 0, 280, 200, 0.0, false, false, Full)] // 1.4x its service time: under the entry ratio
    [InlineData(16, 0, 280, 200, 0.0, true, true, Ceiling)] // the same while yielding: above the exit ratio, keep yielding
    [InlineData(1, 0, 320, 200, 0.0, false, true, Ceiling)] // 1.6x: yield, requests at the ceiling
    [InlineData(1, 0, 220, 200, 0.0, true, false, Full)] // back to 1.1x: full speed again
    [InlineData(1, 0, 40, 20, 0.0, false, false, Full)] // 2x, but 20 us is noise on the page cache
    [InlineData(3, 2, 100, 100, 0.0, false, true, Ceiling)] // requests queued behind the copy on the lock
    [InlineData(0, 0, 400, 200, 2.0, false, true, Ceiling)] // a queue-depth-1 guest between two requests still waits
    [InlineData(1, 0, 600, 200, 0.0, false, true, 64 * K)] // 3x: half the ceiling
    [InlineData(1, 0, 1200, 200, 0.0, false, true, 32 * K)] // 6x: a quarter
    [InlineData(1, 0, 200_000, 200, 0.0, false, true, 4 * K)] // 1000x: never below 4 KiB
    [InlineData(1, 0, 500, 0, 0.0, false, false, Full)] // no floor yet (first requests): nothing to compare with
    public void Decides_from_what_the_guest_waits(int inFlight, int queued, double recentUs, double floorUs, double sinceMs,
        bool wasYielding, bool yields, int ioBytes)
    {
        var since = double.IsPositiveInfinity(sinceMs) ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(sinceMs);
        var pressure = new GuestPressure(inFlight, queued, TimeSpan.FromMicroseconds(recentUs), TimeSpan.FromMicroseconds(floorUs), since);

        var decision = GuestPacer.Decide(pressure, wasYielding, Ceiling);

        Assert.Equal(new PacingDecision(yields, ioBytes), decision);
    }

    [Theory]
    [InlineData(4 * K, 4 * K)]
    [InlineData(64 * 1024 * K, 32 * 1024 * K)]
    public void The_configured_size_is_the_ceiling(int ceiling, int atThreeTimes)
    {
        var waiting = new GuestPressure(1, 0, TimeSpan.FromMicroseconds(300), TimeSpan.FromMicroseconds(200), TimeSpan.Zero);
        var waitingLonger = waiting with { RecentLatency = TimeSpan.FromMicroseconds(600) };

        Assert.Equal(ceiling, GuestPacer.Decide(waiting, false, ceiling).IoBytes);
        Assert.Equal(atThreeTimes, GuestPacer.Decide(waitingLonger, false, ceiling).IoBytes);
    }

    [Fact]
    public void A_ceiling_below_4_KiB_is_refused_with_its_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => GuestPacer.Decide(GuestPressure.Idle, false, 2048));

        Assert.Equal("ceilingBytes", error.ParamName);
    }
}
