using Orchestrator.ImageCommands;
using Orchestrator.Node.Api;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>In-process checks of the pieces the process tests rely on: option parsing, chain names, the flag parser.</summary>
public sealed class OptionsTests
{
    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080)]
    [InlineData("http://127.0.0.1:9000/", "127.0.0.1", 9000)]
    [InlineData("localhost:0", "localhost", 0)]
    [InlineData("[::1]:8081", "::1", 8081)]
    [InlineData("0.0.0.0:80", "0.0.0.0", 80)]
    public void Http_endpoints_parse(string text, string host, int port)
    {
        Assert.True(HttpEndpoint.TryParse(text, out var endpoint));
        Assert.Equal(host, endpoint!.Host);
        Assert.Equal(port, endpoint.Port);
    }

    [Theory]
    [InlineData("8080")]
    [InlineData("example.com:80")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("::1:80")]
    public void Bad_http_endpoints_do_not_parse(string text) => Assert.False(HttpEndpoint.TryParse(text, out _));

    [Fact]
    public void A_wildcard_address_is_published_as_loopback()
    {
        Assert.Equal("http://127.0.0.1:5000", new HttpEndpoint("0.0.0.0", 8080).ClientUrl(5000));
        Assert.Equal("http://[::1]:5000", new HttpEndpoint("::", 8080).ClientUrl(5000));
    }

    [Fact]
    public void Flags_replace_a_list_from_lower_sources_whole()
    {
        using var folder = new TempDirectory("options");
        var a = Directory.CreateDirectory(folder.Combine("a")).FullName;
        var b = Directory.CreateDirectory(folder.Combine("b")).FullName;
        var c = Directory.CreateDirectory(folder.Combine("c")).FullName;
        File.WriteAllText(folder.Combine("appsettings.json"), $$"""{ "StorageRoots": [ "{{a}}", "{{b}}" ], "Data": "{{folder.Combine("data")}}" }""");

        var fromFile = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        Assert.Equal([a, b], fromFile.StorageRoots);
        Assert.Equal(folder.Combine("data"), fromFile.DataDirectory);
        Assert.Equal(HttpEndpoint.Default, fromFile.Http);

        var fromFlags = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("StorageRoots:0", c)], folder.Path));
        Assert.Equal([c], fromFlags.StorageRoots);
    }

    [Fact]
    public void Invalid_options_name_the_flag_and_the_key()
    {
        using var folder = new TempDirectory("options");
        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new("Http", "nope")], folder.Path)));
        Assert.Equal("Http", e.Option);
        Assert.StartsWith("invalid --http (Http)", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<NodeConfigurationException>(() => new NodeOptions(folder.Path, HttpEndpoint.Default, [folder.Combine("missing")]));
        Assert.Equal("StorageRoots", e.Option);
    }

    [Fact]
    public void Shared_roots_are_storage_roots_announced_as_roles_and_one_outside_the_storage_roots_is_refused()
    {
        using var folder = new TempDirectory("options");
        var storage = Directory.CreateDirectory(folder.Combine("storage")).FullName;
        var shared = Directory.CreateDirectory(folder.Combine("storage/shared")).FullName;
        var options = NodeOptions.FromConfiguration(NodeConfiguration.Build(
            [new("StorageRoots:0", storage), new("SharedRoots", shared + Path.PathSeparator + storage), new("NodeName", "n4")], folder.Path));
        Assert.Equal([shared, storage], options.Cluster.SharedRoots);
        Assert.Equal(["n4", "shared-root:" + shared, "shared-root:" + storage], options.Cluster.Roles);

        var outside = Directory.CreateDirectory(folder.Combine("elsewhere")).FullName;
        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build(
            [new("StorageRoots:0", storage), new("SharedRoots:0", outside)], folder.Path)));
        Assert.Equal("SharedRoots", e.Option);
        Assert.Contains($"the shared root '{outside}' is not inside a storage root", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build(
            [new("StorageRoots:0", storage), new("SharedRoots:0", "relative")], folder.Path)));
        Assert.Contains("not a full path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_resolver_s_stable_after_and_the_heartbeat_pause_are_settings_and_bad_ones_are_named()
    {
        using var folder = new TempDirectory("options");
        var defaults = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path)).Cluster;
        Assert.Equal((TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(3)), (defaults.StableAfter, defaults.HeartbeatPause));
        var set = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("StableAfter", "2"), new("HeartbeatPause", "00:00:02")], folder.Path)).Cluster;
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)), (set.StableAfter, set.HeartbeatPause));

        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new("StableAfter", "0.1")], folder.Path)));
        Assert.Equal("StableAfter", e.Option);
        Assert.Contains("between 1 s and 10 min", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new("HeartbeatPause", "soon")], folder.Path)));
        Assert.Equal("HeartbeatPause", e.Option);
        Assert.Contains("ORCHESTRATOR_HEARTBEATPAUSE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_join_timeout_is_a_setting_zero_means_never_give_up_and_a_bad_one_is_named()
    {
        using var folder = new TempDirectory("options");
        Assert.Equal(TimeSpan.FromSeconds(60), NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path)).Cluster.JoinTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), NodeOptions.FromConfiguration(NodeConfiguration.Build([new("JoinTimeout", "30")], folder.Path)).Cluster.JoinTimeout);
        Assert.Equal(TimeSpan.Zero, NodeOptions.FromConfiguration(NodeConfiguration.Build([new("JoinTimeout", "0")], folder.Path)).Cluster.JoinTimeout);

        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new("JoinTimeout", "0.5")], folder.Path)));
        Assert.Equal("JoinTimeout", e.Option);
        Assert.Contains("ORCHESTRATOR_JOINTIMEOUT", e.Message, StringComparison.Ordinal);
        Assert.Contains("0 (never give up) or between 1 s and 24 h", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_and_checkpoint_sizes_come_from_flags_environment_or_appsettings_and_default_to_the_engine_s()
    {
        using var folder = new TempDirectory("options");
        var defaults = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        var engineDefaults = new global::Orchestrator.Engine.EngineSettings();
        Assert.Equal(engineDefaults.BatchBytes, defaults.BatchBytes);
        Assert.Equal(engineDefaults.CheckpointBytes, defaults.CheckpointBytes);
        Assert.Equal(engineDefaults.BatchBytes, defaults.ToEngineSettings().BatchBytes);

        var flags = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("BatchSize", "1M"), new("CheckpointSize", "4194304")], folder.Path));
        Assert.Equal(1024 * 1024, flags.BatchBytes);
        Assert.Equal(4L * 1024 * 1024, flags.CheckpointBytes);
        var engine = flags.ToEngineSettings();
        Assert.Equal((1024 * 1024, 4L * 1024 * 1024), (engine.BatchBytes, engine.CheckpointBytes));
        Assert.Equal(flags.StorageRoots, engine.StorageRoots);

        File.WriteAllText(folder.Combine("appsettings.json"), """{ "BatchSize": "512K", "CheckpointSize": "2G" }""");
        var fromFile = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        Assert.Equal((512 * 1024, 2L * 1024 * 1024 * 1024), (fromFile.BatchBytes, fromFile.CheckpointBytes));
    }

    [Fact]
    public void Image_locking_is_on_by_default_and_turned_off_by_its_option()
    {
        using var folder = new TempDirectory("options");
        Assert.True(NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path)).ToEngineSettings().ImageLocking);

        var off = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("ImageLocking", "off")], folder.Path));
        Assert.False(off.ImageLocking);
        Assert.False(off.ToEngineSettings().ImageLocking);
    }

    [Fact]
    public void Snapshot_interval_comes_from_configuration_and_defaults_to_the_engine_s()
    {
        using var folder = new TempDirectory("options");
        var defaults = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        Assert.Equal(new global::Orchestrator.Engine.EngineSettings().SnapshotInterval, defaults.SnapshotInterval);

        var set = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("SnapshotInterval", "7")], folder.Path));
        Assert.Equal(7, set.SnapshotInterval);
        Assert.Equal(7, set.ToEngineSettings().SnapshotInterval);
    }

    [Fact]
    public void Guest_yield_size_comes_from_configuration_and_defaults_to_the_engine_s()
    {
        using var folder = new TempDirectory("options");
        var defaults = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        Assert.Equal(new global::Orchestrator.Engine.EngineSettings().GuestYieldBytes, defaults.GuestYieldBytes);

        var set = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("GuestYieldSize", "64K")], folder.Path));
        Assert.Equal(64 * 1024, set.GuestYieldBytes);
        Assert.Equal(64 * 1024, set.ToEngineSettings().GuestYieldBytes);
    }

    [Theory]
    [InlineData("GuestYieldSize", "1K", "--guest-yield-size")]
    [InlineData("GuestYieldSize", "128M", "--guest-yield-size")]
    [InlineData("GuestYieldSize", "fast", "--guest-yield-size")]
    [InlineData("SnapshotInterval", "0", "--snapshot-interval")]
    [InlineData("SnapshotInterval", "-3", "--snapshot-interval")]
    [InlineData("SnapshotInterval", "1000001", "--snapshot-interval")]
    [InlineData("SnapshotInterval", "99999999999999999999", "--snapshot-interval")]
    [InlineData("SnapshotInterval", "1k", "--snapshot-interval")]
    [InlineData("BatchSize", "32K", "--batch-size")]
    [InlineData("BatchSize", "512M", "--batch-size")]
    [InlineData("BatchSize", "lots", "--batch-size")]
    [InlineData("BatchSize", "-1", "--batch-size")]
    [InlineData("CheckpointSize", "1K", "--checkpoint-size")]
    [InlineData("CheckpointSize", "1.5", "--checkpoint-size")]
    [InlineData("CheckpointSize", "99999999999999999999999999G", "--checkpoint-size")]
    [InlineData("Nbd", "10809", "--nbd")]
    [InlineData("Nbd", "nbd://127.0.0.1:10809", "--nbd")]
    [InlineData("Nbd", "http://127.0.0.1:10809", "--nbd")]
    [InlineData("NbdAllowRemote", "yes", "--nbd-allow-remote")]
    [InlineData("ImageLocking", "maybe", "--image-locking")]
    public void Bad_sizes_counts_and_nbd_options_name_the_flag_and_the_key(string key, string value, string flag)
    {
        using var folder = new TempDirectory("options");
        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new(key, value)], folder.Path)));
        Assert.Equal(key, e.Option);
        Assert.StartsWith($"invalid {flag} ({key})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nbd_over_tcp_is_off_by_default_and_loopback_only_unless_allowed()
    {
        using var folder = new TempDirectory("options");
        var defaults = NodeOptions.FromConfiguration(NodeConfiguration.Build([], folder.Path));
        Assert.Null(defaults.NbdTcp);
        Assert.Equal(Path.Combine(defaults.DataDirectory, "nbd.sock"), defaults.NbdSocketPath);

        var loopback = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("Nbd", "127.0.0.1:10809")], folder.Path));
        Assert.Equal(new HttpEndpoint("127.0.0.1", 10809), loopback.NbdTcp);
        Assert.Equal("[::1]:10809", NodeOptions.FromConfiguration(NodeConfiguration.Build([new("Nbd", "[::1]:10809")], folder.Path)).NbdTcp!.ToString());

        var e = Assert.Throws<NodeConfigurationException>(() => NodeOptions.FromConfiguration(NodeConfiguration.Build([new("Nbd", "0.0.0.0:10809")], folder.Path)));
        Assert.Equal("Nbd", e.Option);
        Assert.StartsWith("invalid --nbd (Nbd): 0.0.0.0:10809 is not a loopback address, and NBD has no authentication", e.Message, StringComparison.Ordinal);
        Assert.Contains("--nbd-allow-remote", e.Message, StringComparison.Ordinal);

        var allowed = NodeOptions.FromConfiguration(NodeConfiguration.Build([new("Nbd", "0.0.0.0:10809"), new("NbdAllowRemote", "true")], folder.Path));
        Assert.Equal("0.0.0.0", allowed.NbdTcp!.Host);
    }

    [Fact]
    public void A_data_folder_too_long_for_the_nbd_socket_is_refused_at_start()
    {
        using var folder = new TempDirectory("options");
        var deep = Path.Combine(folder.Path, new string('d', 120));
        var e = Assert.Throws<NodeConfigurationException>(() => new NodeOptions(deep, HttpEndpoint.Default, [folder.Path]));
        Assert.Equal("Data", e.Option);
        Assert.Contains("longer than a Unix socket allows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_value_options_keep_every_value()
    {
        var cl = new CommandLine(Cli.Parsing.CommandTree.Build().Parse(["serve", "--storage-root", "/a", "--storage-root=/b", "--http", "x:1", "--http", "y:2"]));
        Assert.Equal(["/a", "/b"], cl.Values("--storage-root"));
        Assert.Equal("y:2", cl.Value("--http"));
        Assert.Empty(cl.Values("--data"));
    }
}
