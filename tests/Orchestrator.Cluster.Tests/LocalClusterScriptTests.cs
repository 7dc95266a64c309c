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
[Collection(LocalClusterScript.Collection)]
public sealed class LocalClusterScriptTests(ITestOutputHelper output)
{
    private static readonly string[] Nodes = LocalClusterScript.Nodes;

    [Fact]
    public async Task Up_starts_three_members_up_again_restarts_a_killed_node_and_down_stops_them_all()
    {
        LocalClusterScript.AssertPortsFree();
        using var dir = new TempDirectory("local-cluster");
        try
        {
            var clock = Stopwatch.StartNew();
            await LocalClusterScript.RunAsync(output, "up", dir.Path);
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
            await LocalClusterScript.WaitExitedAsync(pids["n2"]);
            clock.Restart();
            await LocalClusterScript.RunAsync(output, "up", dir.Path);
            output.WriteLine($"up after killing n2: {clock.Elapsed.TotalSeconds:F1} s");
            var after = Nodes.ToDictionary(n => n, n => int.Parse(File.ReadAllText(dir.Combine($"{n}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture));
            Assert.NotEqual(pids["n2"], after["n2"]);
            Assert.Equal(pids["n1"], after["n1"]);
            Assert.Equal(pids["n3"], after["n3"]);
            await AssertAllUpAsync(8082, token);

            await LocalClusterScript.RunAsync(output, "down", dir.Path);
            foreach (var pid in after.Values)
            {
                await LocalClusterScript.WaitExitedAsync(pid);
            }

            Assert.DoesNotContain(LocalClusterScript.Ports, LocalClusterScript.PortTaken);
        }
        finally
        {
            await LocalClusterScript.DownAsync(dir.Path);
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
}
