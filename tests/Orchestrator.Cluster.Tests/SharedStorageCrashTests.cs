using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Orchestrator.Node.Tests;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Cluster.Tests.LocalClusterHttp;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// The shared-storage failover on real processes (local-cluster.sh: PostgreSQL, n1..n3, DIR/shared declared shared by
/// all three): a disk of n2 on the shared root is merged while a guest writes to it over n2's NBD export; n2 is
/// SIGKILLed and stays down. The resolver downs it, the disk moves to a survivor, the merge resumes there from its
/// checkpoint and the guest goes on through the new host's export; every write whose flush was acknowledged holds,
/// qemu-img check is clean, and when n2 returns the disk stays on its new host.
/// </summary>
[Collection(LocalClusterScript.Collection)]
public sealed class SharedStorageCrashTests(ITestOutputHelper output)
{
    private const string Disk = "vm2";
    private const int GuestCluster = 64 * 1024;
    private const long ChainSize = 16L * 1024 * 1024;
    private const long DataBytes = 8L * 1024 * 1024;
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, int> HttpPorts = new() { ["n1"] = 8081, ["n2"] = 8082, ["n3"] = 8083 };
    private static readonly Dictionary<string, int> NbdPorts = new() { ["n1"] = 10811, ["n2"] = 10812, ["n3"] = 10813 };

    [Fact]
    public async Task A_killed_hosts_disk_on_the_shared_root_moves_and_its_merge_and_its_guest_go_on_there_with_no_acknowledged_write_lost()
    {
        LocalClusterScript.AssertPortsFree();
        using var dir = new TempDirectory("shared-crash");
        var failures = new List<string>();
        try
        {
            await LocalClusterScript.RunAsync(output, "up", dir.Path, CrashTestNodeSettings);
            var seed = RandomChainBuilder.ChooseSeed();
            var rng = new Random(seed);
            var context = $"[seed {seed}]";
            output.WriteLine($"{context} set {RandomChainBuilder.SeedVariable} to reproduce");
            var chain = DataChain(Directory.CreateDirectory(dir.Combine("shared/" + Disk)).FullName, rng, ChainSize, DataBytes, GuestCluster);
            var reference = dir.Combine("reference.raw");
            QemuTools.ConvertToRaw(chain.Top, reference);
            var ledger = new ClusterLedger(File.ReadAllBytes(reference), GuestCluster);
            using var n1 = Client(dir, HttpPorts["n1"]);

            await PostAsync(n1, "disks", new { id = Disk, path = chain.Top, host = "n2" }, HttpStatusCode.Created);
            await PostAsync(n1, $"disks/{Disk}/stream", new Dictionary<string, object> { ["base"] = Path.GetFileName(chain.Bottom), ["speed"] = 512 * 1024, ["auto-dismiss"] = false },
                HttpStatusCode.Created);
            var groups = new Random(seed ^ 0x67726f);
            var loop = NbdGuestLoop.Start(new NbdGuest($"nbd://127.0.0.1:{NbdPorts["n2"]}/{Disk}", ChainSize, new Random(seed ^ 0x6e6264)), ledger, groups, GuestCluster);
            await loop.WaitForAcknowledgedAsync(3, TimeSpan.FromSeconds(20));
            var before = await WaitJobAsync(n1, Disk, JobTimeout, j => j is null || Offset(j.Value) >= 2L * 1024 * 1024 || Status(j.Value) == "concluded", context);
            Assert.True(before is { } b && Status(b) == "running", $"{context} the merge was not running at 2 MiB: {before}");

            // n2 dies for good: the guest's connection with it.
            loop.NodeDying();
            var clock = Stopwatch.StartNew();
            await KillAsync(dir, "n2");
            await loop.StopAsync();
            failures.AddRange(loop.Failures.Select(f => $"{context} before the kill: {f}"));
            output.WriteLine($"{context} n2 killed at offset {Offset(before!.Value)}, {loop.Acknowledged} guest flushes acknowledged");

            // The disk moves to n1 or n3: `disk show` from n1 names the new host.
            var taker = await NewHostAsync(n1, clock, context);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{context} {Disk} moved to {taker} {clock.Elapsed.TotalSeconds:F1} s after the kill"));
            var resumed = await WaitJobAsync(n1, Disk, JobTimeout, j => j is { } r && Status(r) is "running" or "concluded", context);
            if (resumed is { } job && job.GetProperty("host").GetString() != taker)
            {
                failures.Add($"{context} the job runs on {job.GetProperty("host")}, not on {taker}");
            }

            // The guest goes on through the new host's export while the merge finishes there.
            loop = NbdGuestLoop.Start(new NbdGuest($"nbd://127.0.0.1:{NbdPorts[taker]}/{Disk}", ChainSize, new Random(seed ^ 0x74616b)), ledger, groups, GuestCluster);
            await loop.WaitForAcknowledgedAsync(3, TimeSpan.FromSeconds(20));
            await SetSpeedAsync(n1, Disk, 0, concludedIsDone: true);
            var final = await WaitJobAsync(n1, Disk, JobTimeout, j => j is null || Status(j.Value) == "concluded", context);
            await loop.WaitForAcknowledgedAsync(loop.Acknowledged + 3, TimeSpan.FromSeconds(20));
            await loop.StopAsync();
            failures.AddRange(loop.Failures.Select(f => $"{context} on {taker}: {f}"));
            if (final is not { } done || done.TryGetProperty("error", out _))
            {
                failures.Add($"{context} the job did not complete on {taker}: {final?.ToString() ?? "gone"}");
            }

            // n2 returns: the disk stays on its new host, and n2 does not open it.
            await LocalClusterScript.RunAsync(output, "up", dir.Path, CrashTestNodeSettings);
            using var n2 = Client(dir, HttpPorts["n2"]);
            var shown = await ShowAsync(n2);
            if (shown.GetProperty("host").GetString() != taker || shown.GetProperty("chain").GetArrayLength() != 2)
            {
                failures.Add($"{context} after n2 returned, {Disk} is {shown}");
            }

            await LocalClusterScript.RunAsync(output, "down", dir.Path);
            var check = QemuTools.Check(chain.Top);
            if (check.ExitCode != 0)
            {
                failures.Add($"{context} qemu-img check: {check.StdOut}{check.StdErr}");
            }

            var content = dir.Combine("final.raw");
            QemuTools.ConvertToRaw(chain.Top, content);
            var mismatches = ledger.Mismatches(File.ReadAllBytes(content));
            failures.AddRange(mismatches.Take(20).Select(m => $"{context} {m}"));
            output.WriteLine($"{context} {ledger.Issued} cluster writes issued, {ledger.Pinned} pinned by acknowledged flushes, {mismatches.Count} clusters wrong");
        }
        catch (Exception e)
        {
            // Reported with the nodes' logs below, which the test's folder takes with it.
            failures.Add($"aborted: {e}");
        }
        finally
        {
            await LocalClusterScript.DownAsync(dir.Path);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n" + LocalClusterScript.LogTails(dir.Path));
    }

    /// <summary>Polls <c>GET /disks/vm2</c> until it names a host other than n2 (within 90 s of the kill).</summary>
    private static async Task<string> NewHostAsync(HttpClient client, Stopwatch clock, string context)
    {
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            using var response = await client.GetAsync($"disks/{Disk}");
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.IsSuccessStatusCode && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("host").GetString() is { } host && host != "n2")
            {
                return host;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{context} {Disk} did not move off the killed n2 within 90 s; last answer: {last}");
    }

    private static async Task<JsonElement> ShowAsync(HttpClient client)
    {
        using var response = await client.GetAsync($"disks/{Disk}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET disks/{Disk} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
