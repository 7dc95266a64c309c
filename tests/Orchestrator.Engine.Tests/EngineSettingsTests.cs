using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>Engine options fail at construction, naming the option, when out of range.</summary>
public sealed class EngineSettingsTests
{
    [Fact]
    public void Snapshot_interval_defaults_to_100_events()
    {
        Assert.Equal(100, new EngineSettings().SnapshotInterval);
        Assert.Equal(1, new EngineSettings { SnapshotInterval = 1 }.SnapshotInterval);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1_000_001)]
    public void Snapshot_interval_out_of_range_is_refused_naming_the_option(int interval)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EngineSettings { SnapshotInterval = interval });

        Assert.Equal(nameof(EngineSettings.SnapshotInterval), error.ParamName);
    }

    [Fact]
    public void Guest_yield_size_defaults_to_128_KiB()
    {
        Assert.Equal(128 * 1024, new EngineSettings().GuestYieldBytes);
        Assert.Equal(4096, new EngineSettings { GuestYieldBytes = 4096 }.GuestYieldBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    [InlineData(64 * 1024 * 1024 + 1)]
    public void Guest_yield_size_out_of_range_is_refused_naming_the_option(int bytes)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EngineSettings { GuestYieldBytes = bytes });

        Assert.Equal(nameof(EngineSettings.GuestYieldBytes), error.ParamName);
    }
}
