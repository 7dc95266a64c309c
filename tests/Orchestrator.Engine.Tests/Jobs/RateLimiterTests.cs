using Xunit;

namespace Orchestrator.Engine.Tests.Jobs;

/// <summary>The rate limit at its extremes, with a fake clock (no sleeping).</summary>
public sealed class RateLimiterTests
{
    private const long MiB = 1024 * 1024;

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1)]
    [InlineData(1L << 62)]
    [InlineData(100_000_000_000_000L)]
    public void A_huge_speed_never_makes_a_copy_wait(long speed)
    {
        var limiter = new RateLimiter { Speed = speed };
        var now = TimeSpan.Zero;

        // 64 GiB in 1 MiB batches, all at one instant and then across slices: once stalled at 8 MiB (speed x ticks overflowed).
        for (var i = 0; i < 65536; i++)
        {
            Assert.Equal(TimeSpan.Zero, limiter.Delay(MiB, now));
            now += TimeSpan.FromMilliseconds(i % 7);
        }
    }

    [Fact]
    public void Huge_batches_at_the_largest_speed_do_not_overflow_the_account()
    {
        var limiter = new RateLimiter { Speed = long.MaxValue };

        Assert.Equal(TimeSpan.Zero, limiter.Delay(long.MaxValue, TimeSpan.Zero));
        var wait = limiter.Delay(long.MaxValue, TimeSpan.Zero);

        Assert.InRange(wait, TimeSpan.Zero, RateLimiter.Slice * 11);
        Assert.Equal(TimeSpan.Zero, limiter.Delay(1, TimeSpan.FromDays(365)));
    }

    [Fact]
    public void Speed_zero_is_unlimited()
    {
        var limiter = new RateLimiter { Speed = 0 };

        Assert.Equal(TimeSpan.Zero, limiter.Delay(long.MaxValue, TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, limiter.Delay(long.MaxValue, TimeSpan.Zero));
    }

    [Fact]
    public void The_smallest_speed_allows_one_byte_per_slice()
    {
        var limiter = new RateLimiter { Speed = 1 };

        Assert.Equal(TimeSpan.Zero, limiter.Delay(1, TimeSpan.Zero));
        Assert.Equal(RateLimiter.Slice, limiter.Delay(1, TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, limiter.Delay(1, RateLimiter.Slice));
    }

    [Fact]
    public void A_large_request_carries_over_into_the_following_slices()
    {
        var limiter = new RateLimiter { Speed = 10 * MiB };

        // Quota 1 MiB per slice: 4 MiB at once is let through, then the next waits for 4 slices.
        Assert.Equal(TimeSpan.Zero, limiter.Delay(4 * MiB, TimeSpan.Zero));
        Assert.Equal(RateLimiter.Slice * 4, limiter.Delay(MiB, TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, limiter.Delay(MiB, RateLimiter.Slice * 4));
    }

    [Fact]
    public void Negative_speed_is_refused_with_its_name()
    {
        var limiter = new RateLimiter();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => limiter.Speed = -1);
        Assert.Equal("value", e.ParamName);
    }
}
