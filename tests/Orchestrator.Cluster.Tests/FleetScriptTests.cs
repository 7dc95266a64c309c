using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// The fleet on real processes (local-cluster.sh: PostgreSQL, n1..n3) through the CLI as operators' scripts use it:
/// a disk registered on n2 through n1 with --host n2, shown from n1 with n2's NBD export, streamed through n1, its
/// job watched from n3 with its host, its end in the job history of every node, the chain checked clean by qemu-img.
/// </summary>
[Collection(LocalClusterScript.Collection)]
public sealed class FleetScriptTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_disk_added_on_n2_through_n1_streams_there_and_n3_watches_its_job()
    {
        LocalClusterScript.AssertPortsFree();
        using var dir = new TempDirectory("fleet-script");
        try
        {
            await LocalClusterScript.RunAsync(output, "up", dir.Path);
            var seed = RandomChainBuilder.ChooseSeed();
            output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
            var images = Directory.CreateDirectory(Path.Combine(dir.Path, "n2", "images", "vm1")).FullName;
            var chain = new RandomChainBuilder(seed, output.WriteLine).Build(images, new ChainSpec { Layers = 3, VirtualSize = 16L * 1024 * 1024 });

            using (var added = await CliJsonAsync(dir, 8081, "disk", "add", "vm1", chain.Top, "--host", "n2"))
            {
                Assert.Equal(3, added.RootElement.GetProperty("chain").GetArrayLength());
            }

            using (var list = await CliJsonAsync(dir, 8083, "disk", "list"))
            {
                var vm1 = Assert.Single(list.RootElement.EnumerateArray());
                Assert.Equal("vm1", vm1.GetProperty("id").GetString());
                Assert.Equal("n2", vm1.GetProperty("host").GetString());
            }

            // disk show from a node that is not the host gives the host's NBD export, and qemu-io reads the disk there.
            using (var shown = await CliJsonAsync(dir, 8081, "disk", "show", "vm1"))
            {
                Assert.Equal("n2", shown.RootElement.GetProperty("host").GetString());
                var tcp = shown.RootElement.GetProperty("nbd").GetProperty("tcp").GetString();
                Assert.Equal("nbd://127.0.0.1:10812/vm1", tcp);
                var read = QemuTools.Io("-r", "-f", "raw", "-c", "read 0 64k", tcp!);
                Assert.True(read.ExitCode == 0, $"qemu-io read from {tcp}: {read.StdOut}{read.StdErr}");
            }

            // Rate-limited so that n3 may see it run; kept after it ends so that its end is seen too.
            await CliAsync(dir, 8081, "stream", "vm1", "--job-id", "s1", "--speed", "1M", "--no-auto-dismiss");
            var seen = new List<string>();
            var clock = Stopwatch.StartNew();
            while (true)
            {
                using var jobs = await CliJsonAsync(dir, 8083, "jobs");
                var s1 = Assert.Single(jobs.RootElement.EnumerateArray());
                Assert.Equal("n2", s1.GetProperty("host").GetString());
                var status = s1.GetProperty("status").GetString()!;
                if (seen.Count == 0 || seen[^1] != status)
                {
                    seen.Add(status);
                }

                if (status == "concluded")
                {
                    Assert.False(s1.TryGetProperty("error", out var error), $"the stream failed: {error}");
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"s1 did not conclude within 2 min; statuses seen from n3: {string.Join(", ", seen)}");
                await Task.Delay(250);
            }

            // Whether it was still running at the first look depends on the machine's load (each CLI call starts a process).
            output.WriteLine($"statuses seen from n3: {string.Join(", ", seen)}");
            using (var shown = await CliJsonAsync(dir, 8083, "disk", "show", "vm1"))
            {
                Assert.Equal(1, shown.RootElement.GetProperty("chain").GetArrayLength());
            }

            // The job history covers the fleet: n1 and n3 both list s1's end, on n2, read from n2's events in the journal.
            foreach (var port in new[] { 8081, 8083 })
            {
                using var all = await CliJsonAsync(dir, port, "jobs", "--all");
                var ended = Assert.Single(all.RootElement.GetProperty("finished").EnumerateArray(), j => j.GetProperty("id").GetString() == "s1");
                Assert.Equal(("n2", "completed"), (ended.GetProperty("host").GetString(), ended.GetProperty("outcome").GetString()));
                Assert.True(ended.GetProperty("started").ValueKind == JsonValueKind.String, $"s1's start is missing: {ended}");
            }

            var check = QemuTools.Check(chain.Top);
            Assert.True(check.ExitCode == 0, $"qemu-img check {chain.Top}: {check.StdOut}{check.StdErr}");
            await LocalClusterScript.RunAsync(output, "down", dir.Path);
        }
        finally
        {
            await LocalClusterScript.DownAsync(dir.Path);
        }
    }

    private async Task<JsonDocument> CliJsonAsync(TempDirectory dir, int port, params string[] args) =>
        JsonDocument.Parse(await CliAsync(dir, port, [.. args, "--output", "json"]));

    /// <summary>The CLI against the node on <paramref name="port"/>, with the cluster's token; fails with its error.</summary>
    private async Task<string> CliAsync(TempDirectory dir, int port, params string[] args)
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [LocalClusterScript.OrchestratorDll, .. args, "--server", $"http://127.0.0.1:{port}", "--token-file", dir.Combine("token")], dir.Path, TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0)
        {
            Assert.Fail($"orchestrator {string.Join(' ', args)} (port {port}) exited {result.ExitCode}: {result.StdErr}\n{LocalClusterScript.LogTails(dir.Path)}");
        }

        output.WriteLine($"orchestrator {string.Join(' ', args)} @ {port}: {result.StdOut.Trim()}");
        return result.StdOut;
    }
}
