using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// cluster-config/local-cluster.sh on real processes, on the ports the operators' interface fixes: up starts PostgreSQL
/// and n1..n3 and returns when all are Up; up again restarts a node that died (SIGKILL); down stops everything.
/// </summary>
public sealed class LocalClusterScriptTests(ITestOutputHelper output)
{
    private static readonly string[] Nodes = ["n1", "n2", "n3"];

    // HTTP, NBD, cluster remoting, and the script's PostgreSQL.
    private static readonly int[] Ports = [8081, 8082, 8083, 10811, 10812, 10813, 2551, 2552, 2553, 55433];

    [Fact]
    public async Task Up_starts_three_members_up_again_restarts_a_killed_node_and_down_stops_them_all()
    {
        var taken = Ports.Where(PortTaken).ToList();
        Assert.True(taken.Count == 0, $"local-cluster.sh needs ports {string.Join(", ", taken)} on 127.0.0.1, which another program holds: stop it and run again");
        using var dir = new TempDirectory("local-cluster");
        var script = Path.Combine(RepositoryRoot(), "cluster-config", "local-cluster.sh");
        try
        {
            var clock = Stopwatch.StartNew();
            await RunAsync(script, "up", dir.Path);
            output.WriteLine($"up: {clock.Elapsed.TotalSeconds:F1} s");
            var token = File.ReadAllText(dir.Combine("token")).Trim();
            Assert.True(token.Length >= 32, "DIR/token holds no token");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.Combine("token")));
            }

            var pids = Nodes.ToDictionary(n => n, n => int.Parse(File.ReadAllText(dir.Combine($"{n}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture));
            foreach (var (node, index) in Nodes.Select((n, i) => (n, i)))
            {
                Assert.True(Directory.Exists(dir.Combine(node)), $"no data folder DIR/{node}");
                await AssertAllUpAsync(8081 + index, token);
            }

            // A crash of n2: up again restarts it (and only it), and returns when the three are Up again.
            Process.GetProcessById(pids["n2"]).Kill();
            await WaitExitedAsync(pids["n2"]);
            clock.Restart();
            await RunAsync(script, "up", dir.Path);
            output.WriteLine($"up after killing n2: {clock.Elapsed.TotalSeconds:F1} s");
            var after = Nodes.ToDictionary(n => n, n => int.Parse(File.ReadAllText(dir.Combine($"{n}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture));
            Assert.NotEqual(pids["n2"], after["n2"]);
            Assert.Equal(pids["n1"], after["n1"]);
            Assert.Equal(pids["n3"], after["n3"]);
            await AssertAllUpAsync(8082, token);

            await RunAsync(script, "down", dir.Path);
            foreach (var pid in after.Values)
            {
                await WaitExitedAsync(pid);
            }

            Assert.DoesNotContain(Ports, PortTaken);
        }
        finally
        {
            await ProcessRunner.RunAsync("bash", [script, "down", dir.Path], dir.Path, TimeSpan.FromMinutes(2));
        }
    }

    private static async Task AssertAllUpAsync(int httpPort, string token)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var members = JsonDocument.Parse(await http.GetStringAsync("cluster/members"));
        var seen = members.RootElement.EnumerateArray()
            .Select(m => $"{m.GetProperty("node").GetString()}:{m.GetProperty("status").GetString()}:{m.GetProperty("reachable").GetBoolean()}")
            .ToList();
        Assert.Equal(["n1:Up:True", "n2:Up:True", "n3:Up:True"], seen);
    }

    private async Task RunAsync(string script, string verb, string dir)
    {
        var result = await ProcessRunner.RunAsync("bash", [script, verb, dir], dir, TimeSpan.FromMinutes(5),
            new Dictionary<string, string?> { ["ORCHESTRATOR_DLL"] = DotnetPrograms.NextToTests("orchestrator.dll", "src/Orchestrator.Cli"), ["LOCAL_CLUSTER_UP_TIMEOUT"] = "240" });
        output.WriteLine($"local-cluster.sh {verb}: exit {result.ExitCode}\n{result.StdErr}");
        if (result.ExitCode != 0)
        {
            var logs = string.Join("\n", Nodes.Select(n => Path.Combine(dir, $"{n}.log")).Where(File.Exists)
                .Select(l => $"--- {Path.GetFileName(l)} (tail)\n{string.Join("\n", File.ReadLines(l).TakeLast(15))}"));
            Assert.Fail($"local-cluster.sh {verb} {dir} exited {result.ExitCode}: {result.StdErr}\n{logs}");
        }
    }

    private static async Task WaitExitedAsync(int pid)
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                if (process.HasExited)
                {
                    return;
                }
            }
            catch (ArgumentException)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"process {pid} did not exit within 30 s");
    }

    private static bool PortTaken(int port)
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync("127.0.0.1", port).Wait(TimeSpan.FromMilliseconds(300)) && client.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Orchestrator.sln above {AppContext.BaseDirectory}");
    }
}
