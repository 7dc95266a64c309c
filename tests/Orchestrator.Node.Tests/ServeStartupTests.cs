using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>Starting and finding the node: validated options, one node per data folder, the token kept across restarts, unreachable nodes.</summary>
public sealed class ServeStartupTests
{
    [Theory]
    [InlineData("--http", "not-an-endpoint", "invalid --http (Http)")]
    [InlineData("--http", "127.0.0.1:99999", "invalid --http (Http)")]
    [InlineData("--storage-root", "/no/such/folder", "invalid --storage-root (StorageRoots)")]
    [InlineData("--cache", "sometimes", "invalid --cache (Cache)")]
    [InlineData("--request-timeout", "soon", "invalid --request-timeout (RequestTimeout)")]
    public async Task Invalid_options_stop_the_start_with_one_line_naming_the_option(string flag, string value, string expected)
    {
        using var folder = new TempDirectory("serve-bad");
        var result = await Orchestrator.RunAsync(["serve", "--data", folder.Combine("data"), flag, value], folder.Path, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"orchestrator: {expected}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_come_from_appsettings_then_the_environment_then_flags()
    {
        using var folder = new TempDirectory("serve-config");
        await File.WriteAllTextAsync(folder.Combine("appsettings.json"), """{ "Http": "from-file" }""");
        var data = folder.Combine("data");

        var fromFile = await Orchestrator.RunAsync(["serve", "--data", data], folder.Path, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(1, fromFile.ExitCode);
        Assert.Contains("'from-file' is not HOST:PORT", fromFile.StdErr, StringComparison.Ordinal);

        var env = new Dictionary<string, string?>(Orchestrator.CleanEnvironment(folder.Path)) { ["ORCHESTRATOR_HTTP"] = "from-env" };
        var fromEnv = await Orchestrator.RunAsync(["serve", "--data", data], folder.Path, env, TimeSpan.FromSeconds(60));
        Assert.Equal(1, fromEnv.ExitCode);
        Assert.Contains("'from-env' is not HOST:PORT", fromEnv.StdErr, StringComparison.Ordinal);

        var fromFlag = await Orchestrator.RunAsync(["serve", "--data", data, "--http", "from-flag"], folder.Path, env, TimeSpan.FromSeconds(60));
        Assert.Equal(1, fromFlag.ExitCode);
        Assert.Contains("'from-flag' is not HOST:PORT", fromFlag.StdErr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A node whose seeds never let it join gives up after its JoinTimeout and exits with 75 naming them, so that a
    /// service manager (Restart=on-failure) starts a fresh incarnation: a restarted node's joins are now and then never
    /// answered while a new incarnation's are (docs/operations.md).
    /// </summary>
    [Fact]
    public async Task A_node_whose_seeds_never_answer_exits_75_after_its_join_timeout_naming_them()
    {
        using var folder = new TempDirectory("serve-no-seeds");
        var images = Directory.CreateDirectory(folder.Combine("images")).FullName;
        var seed = $"127.0.0.1:{NodeProcess.FreePort()}";
        var env = new Dictionary<string, string?>(Orchestrator.CleanEnvironment(folder.Path)) { ["ORCHESTRATOR_JOINTIMEOUT"] = "3" };
        var result = await Orchestrator.RunAsync(
            ["serve", "--data", folder.Combine("data"), "--http", $"127.0.0.1:{NodeProcess.FreePort()}", "--storage-root", images,
                "--node-name", "n2", "--cluster-host", "127.0.0.1", "--seed", seed],
            folder.Path, env, TimeSpan.FromSeconds(90));
        var output = result.StdOut + result.StdErr;
        Assert.True(result.ExitCode == 75, $"exit code {result.ExitCode}, not 75:\n{output}");
        Assert.Contains($"node n2 could not join the cluster through {seed} within 3 s (JoinTimeout)", output, StringComparison.Ordinal);
        Assert.Contains("exit code 75", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_node_on_the_same_data_folder_is_refused_and_the_token_survives_a_restart()
    {
        using var folder = new TempDirectory("serve-twice");
        string token;
        await using (var first = await NodeProcess.StartAsync(folder.Path))
        {
            token = first.Token;
            var second = await Orchestrator.RunAsync(
                ["serve", "--data", first.DataDirectory, "--http", $"127.0.0.1:{NodeProcess.FreePort()}", "--storage-root", first.StorageRoot],
                folder.Path, timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(1, second.ExitCode);
            Assert.Contains("already using the data folder", second.StdErr, StringComparison.Ordinal);

            // The refused node never touched the first one's NBD socket.
            QemuTools.NbdInfoRun("--list", $"nbd+unix://?socket={Path.Combine(first.DataDirectory, NodePaths.NbdSocketFile)}").EnsureSuccess();
        }

        Assert.False(File.Exists(Path.Combine(folder.Path, "data", NodePaths.EndpointFile)), "a stopped node must remove its endpoint file");
        Assert.False(File.Exists(Path.Combine(folder.Path, "data", NodePaths.NbdSocketFile)), "a stopped node must remove its NBD socket");

        await using var restarted = await NodeProcess.StartAsync(folder.Path);
        Assert.Equal(token, restarted.Token);
    }

    [Fact]
    public async Task Disks_survive_a_restart()
    {
        using var folder = new TempDirectory("serve-restart");
        Directory.CreateDirectory(folder.Combine("images"));
        var (_, _, top) = Chains.Create(folder.Combine("images"), "keep");
        await using (var first = await NodeProcess.StartAsync(folder.Path))
        {
            (await first.CliAsync("disk", "add", "kept", top)).EnsureSuccess();
        }

        await using var second = await NodeProcess.StartAsync(folder.Path);
        var show = Json.Parse((await second.CliAsync("disk", "show", "kept", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal(3, show.GetProperty("chain").GetArrayLength());
    }

    [Fact]
    public async Task The_nbd_socket_a_killed_node_left_is_replaced_at_the_next_start()
    {
        using var folder = new TempDirectory("serve-stale-nbd");
        Directory.CreateDirectory(folder.Combine("images"));
        var (_, _, top) = Chains.Create(folder.Combine("images"), "stale");
        var socket = Path.Combine(folder.Path, "data", NodePaths.NbdSocketFile);
        await using (var first = await NodeProcess.StartAsync(folder.Path))
        {
            (await first.CliAsync("disk", "add", "stale", top)).EnsureSuccess();
            await first.KillAsync();
        }

        Assert.True(File.Exists(socket), "SIGKILL leaves the socket file behind");
        await using var second = await NodeProcess.StartAsync(folder.Path);
        var list = QemuTools.NbdInfoRun("--list", $"nbd+unix://?socket={socket}").EnsureSuccess().StdOut;
        Assert.Contains("stale", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_a_node_says_so_in_one_line()
    {
        using var folder = new TempDirectory("client-alone");
        var tokenFile = folder.Combine("token");
        await File.WriteAllTextAsync(tokenFile, "0123456789abcdef0123456789abcdef\n");
        var port = NodeProcess.FreePort();
        var result = await Orchestrator.RunAsync(["disk", "list", "--server", $"http://127.0.0.1:{port}", "--token-file", tokenFile], folder.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"orchestrator: cannot reach the orchestrator node at http://127.0.0.1:{port}: is `orchestrator serve` running?", result.StdErr.Trim());

        var noToken = await Orchestrator.RunAsync(["jobs", "--server", $"http://127.0.0.1:{port}"], folder.Path);
        Assert.Equal(1, noToken.ExitCode);
        Assert.Contains("no API token", noToken.StdErr, StringComparison.Ordinal);

        var noNode = await Orchestrator.RunAsync(["jobs", "--data", folder.Combine("nothing-here")], folder.Path);
        Assert.Equal(1, noNode.ExitCode);
        Assert.Contains("orchestrator serve --data", noNode.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_finds_the_node_from_the_environment()
    {
        using var folder = new TempDirectory("client-env");
        await using var node = await NodeProcess.StartAsync(folder.Path);
        var env = new Dictionary<string, string?>(Orchestrator.CleanEnvironment(folder.Path))
        {
            ["ORCHESTRATOR_SERVER"] = node.Url.ToString(),
            ["ORCHESTRATOR_TOKEN"] = node.Token,
        };
        (await Orchestrator.RunAsync(["disk", "list"], folder.Path, env)).EnsureSuccess();

        var byData = new Dictionary<string, string?>(Orchestrator.CleanEnvironment(folder.Path)) { ["ORCHESTRATOR_DATA"] = node.DataDirectory };
        (await Orchestrator.RunAsync(["jobs"], folder.Path, byData)).EnsureSuccess();

        var wrongToken = new Dictionary<string, string?>(env) { ["ORCHESTRATOR_TOKEN"] = "wrong" };
        var refused = await Orchestrator.RunAsync(["disk", "list"], folder.Path, wrongToken);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("orchestrator: invalid bearer token", refused.StdErr.Trim());
    }
}
