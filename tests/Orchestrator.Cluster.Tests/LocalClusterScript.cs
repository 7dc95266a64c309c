using System.Diagnostics;
using System.Net.Sockets;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>cluster-config/local-cluster.sh run by the tests: the script, its fixed ports, and the CLI its nodes run.</summary>
internal static class LocalClusterScript
{
    /// <summary>The xunit collection of the tests that run the script: one at a time, as they use the same fixed ports.</summary>
    public const string Collection = "local-cluster.sh";

    public static readonly string[] Nodes = ["n1", "n2", "n3"];

    // HTTP, NBD, cluster remoting, and the script's PostgreSQL.
    public static readonly int[] Ports = [8081, 8082, 8083, 10811, 10812, 10813, 2551, 2552, 2553, 55433];

    public static string Script => Path.Combine(RepositoryRoot(), "cluster-config", "local-cluster.sh");

    /// <summary>The orchestrator.dll the nodes and the tests' CLI calls run.</summary>
    public static string OrchestratorDll => DotnetPrograms.NextToTests("orchestrator.dll", "src/Orchestrator.Cli");

    /// <summary>Fails naming the ports another program holds, before the script would.</summary>
    public static void AssertPortsFree()
    {
        var taken = Ports.Where(PortTaken).ToList();
        Assert.True(taken.Count == 0, $"local-cluster.sh needs ports {string.Join(", ", taken)} on 127.0.0.1, which another program holds: stop it and run again");
    }

    /// <summary>Runs <c>local-cluster.sh VERB DIR</c>; fails with the script's error and the nodes' last log lines.</summary>
    /// <param name="nodeEnvironment">More variables for the nodes the script starts (ORCHESTRATOR_* settings).</param>
    public static async Task RunAsync(ITestOutputHelper output, string verb, string dir, IReadOnlyDictionary<string, string>? nodeEnvironment = null)
    {
        var environment = new Dictionary<string, string?> { ["ORCHESTRATOR_DLL"] = OrchestratorDll, ["LOCAL_CLUSTER_UP_TIMEOUT"] = "240" };
        foreach (var (name, value) in nodeEnvironment ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        var result = await ProcessRunner.RunAsync("bash", [Script, verb, dir], dir, TimeSpan.FromMinutes(5), environment);
        output.WriteLine($"local-cluster.sh {verb}: exit {result.ExitCode}\n{result.StdErr}");
        if (result.ExitCode != 0)
        {
            Assert.Fail($"local-cluster.sh {verb} {dir} exited {result.ExitCode}: {result.StdErr}\n{LogTails(dir)}");
        }
    }

    /// <summary>The last lines of each node's log, for failure messages.</summary>
    public static string LogTails(string dir) => string.Join("\n", Nodes.Select(n => Path.Combine(dir, $"{n}.log")).Where(File.Exists)
        .Select(l => $"--- {Path.GetFileName(l)} (why members went or stopped)\n{string.Join("\n", File.ReadLines(l).Where(IsTurningPoint).TakeLast(25))}"
            + $"\n--- {Path.GetFileName(l)} (tail)\n{string.Join("\n", File.ReadLines(l).TakeLast(15))}"));

    // What says why a member left or a node stopped: downing decisions, coordinated shutdown, the node's own exit, errors.
    private static bool IsTurningPoint(string line) =>
        line.Contains("fail:", StringComparison.Ordinal) || line.Contains("CoordinatedShutdown", StringComparison.Ordinal)
        || line.Contains("SBR took decision", StringComparison.Ordinal) || line.Contains("Marking node", StringComparison.Ordinal)
        || line.Contains("is shutting down", StringComparison.Ordinal) || line.Contains("Leader is removing", StringComparison.Ordinal);

    /// <summary>Stops whatever runs, whatever state the test left (a finally block).</summary>
    public static Task DownAsync(string dir) => ProcessRunner.RunAsync("bash", [Script, "down", dir], dir, TimeSpan.FromMinutes(2));

    public static async Task WaitExitedAsync(int pid)
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

    public static bool PortTaken(int port)
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
