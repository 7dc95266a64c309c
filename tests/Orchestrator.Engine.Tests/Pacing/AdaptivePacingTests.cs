using Orchestrator.Engine.Pacing;
using Xunit;

namespace Orchestrator.Engine.Tests.Pacing;

/// <summary>The pacing a copy holds: it remembers whether it yields (hysteresis) and waits for gaps only then.</summary>
public sealed class AdaptivePacingTests
{
    private const int Ceiling = 256 * 1024;

    [Fact]
    public void Yields_only_while_the_guest_waits_and_waits_for_gaps_only_then()
    {
        var pressure = Busy(recentUs: 220);
        var gapWaits = 0;
        var pacing = new AdaptivePacing(() => pressure, _ => gapWaits++, Ceiling);

        // Busy guest, no wait: full speed, and the copy does not wait for gaps between its requests.
        Assert.False(pacing.Yield());
        pacing.BeforeIo();
        Assert.Equal(0, gapWaits);

        // 1.4x: not enough to start yielding...
        pressure = Busy(recentUs: 280);
        Assert.False(pacing.Yield());

        // ...2x is, and each request then starts in a gap.
        pressure = Busy(recentUs: 400);
        Assert.True(pacing.Yield());
        Assert.Equal(Ceiling, pacing.IoBytes);
        pacing.BeforeIo();
        Assert.Equal(1, gapWaits);

        // 1.4x while yielding: keeps yielding (no flip-flop at the threshold); 4x: smaller requests.
        pressure = Busy(recentUs: 280);
        Assert.True(pacing.Yield());
        pressure = Busy(recentUs: 800);
        Assert.True(pacing.Yield());
        Assert.Equal(Ceiling / 2, pacing.IoBytes);

        // The guest stops waiting: full speed, the ceiling restored, no more gap waits.
        pressure = Busy(recentUs: 210);
        Assert.False(pacing.Yield());
        Assert.Equal(Ceiling, pacing.IoBytes);
        pacing.BeforeIo();
        Assert.Equal(1, gapWaits);
    }

    [Fact]
    public void A_ceiling_below_4_KiB_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptivePacing(() => GuestPressure.Idle, _ => { }, 1024));

        Assert.Equal("ceilingBytes", error.ParamName);
    }

    private static GuestPressure Busy(double recentUs) =>
        new(1, 0, TimeSpan.FromMicroseconds(recentUs), TimeSpan.FromMicroseconds(200), TimeSpan.Zero);
}
