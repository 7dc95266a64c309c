using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Node.Tests;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Cluster.Tests.LocalClusterHttp;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// The fleet end to end on real processes (local-cluster.sh: PostgreSQL, n1..n3): a disk of n2 streamed while a guest
/// writes to it over n2's NBD export; n2 is SIGKILLed at ten random points of the merge and started again, n3 (not the
/// host) is SIGKILLed once, and PostgreSQL is stopped and started once. The merge completes, resumed each time by the
/// host from its checkpoint; every write whose flush the guest saw acknowledged holds, and qemu-img check is clean.
/// </summary>
[Collection(LocalClusterScript.Collection)]
public sealed class FleetCrashTests(ITestOutputHelper output)
{
    private const string Disk = "vm1";
    private const int GuestCluster = 64 * 1024;
    private const int HostKills = 10;
    private const long ChainSize = 32L * 1024 * 1024;

    // The data the stream copies (B's), from offset 0. The kills take about 1 MiB each (a resume from the last
    // checkpoint, then the copy while the script waits for all three members), the non-host kill and the outage
    // about 5 MiB at the slow speed.
    private const long DataBytes = 24L * 1024 * 1024;
    private const long KillSpeed = 512 * 1024;
    private const long SlowSpeed = 256 * 1024;
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task The_host_killed_at_ten_points_a_non_host_killed_and_PostgreSQL_restarted_mid_merge_lose_no_acknowledged_write()
    {
        LocalClusterScript.AssertPortsFree();
        using var dir = new TempDirectory("fleet-crash");
        var failures = new List<string>();
        try
        {
            await LocalClusterScript.RunAsync(output, "up", dir.Path, CrashTestNodeSettings);
            var seed = RandomChainBuilder.ChooseSeed();
            var rng = new Random(seed);
            var context = $"[seed {seed}]";
            output.WriteLine($"{context} set {RandomChainBuilder.SeedVariable} to reproduce");
            var images = Directory.CreateDirectory(Path.Combine(dir.Path, "n2", "images", Disk)).FullName;
            var chain = DataChain(images, rng, ChainSize, DataBytes, GuestCluster);
            var reference = dir.Combine("reference.raw");
            QemuTools.ConvertToRaw(chain.Top, reference);
            var ledger = new ClusterLedger(File.ReadAllBytes(reference), GuestCluster);
            using var n1 = Client(dir, 8081);
            using var n3 = Client(dir, 8083);

            await PostAsync(n1, "disks", new { id = Disk, path = chain.Top, host = "n2" }, HttpStatusCode.Created);
            // Started through n3; kept after it concludes (QMP's auto-dismiss false), so its end is seen whatever the timing.
            await PostAsync(n3, $"disks/{Disk}/stream", new Dictionary<string, object> { ["base"] = Path.GetFileName(chain.Bottom), ["speed"] = KillSpeed, ["auto-dismiss"] = false },
                HttpStatusCode.Created);

            var guest = new NbdGuest($"nbd://127.0.0.1:10812/{Disk}", ChainSize, new Random(seed ^ 0x6e6264));
            var groups = new Random(seed ^ 0x67726f);
            var loop = NbdGuestLoop.Start(guest, ledger, groups, GuestCluster);
            var offset = 0L;
            for (var kill = 0; kill < HostKills; kill++)
            {
                // Each kill at a random point up to 768 KiB past where the job was last seen (it resumed from its checkpoint).
                var target = offset + rng.NextInt64(64 * 1024, 768 * 1024);
                // And not before the guest had a flush acknowledged in this life of the host.
                await loop.WaitForAcknowledgedAsync(1, TimeSpan.FromSeconds(20));
                var job = await WaitJobAsync(n1, Disk, JobTimeout, j => j is null || Offset(j.Value) >= target || Status(j.Value) == "concluded", context);
                if (job is null || Status(job.Value) == "concluded")
                {
                    failures.Add($"{context} the job was {(job is null ? "gone" : "concluded")} before kill {kill + 1} (offset target {target}): too fast to test");
                    break;
                }

                loop.NodeDying();
                var clock = Stopwatch.StartNew();
                await KillAsync(dir, "n2");
                await loop.StopAsync();
                failures.AddRange(loop.Failures.Select(f => $"{context} before kill {kill + 1}: {f}"));
                await LocalClusterScript.RunAsync(output, "up", dir.Path, CrashTestNodeSettings);
                var resumed = await WaitJobAsync(n1, Disk, JobTimeout, j => j is { } r && Status(r) is "running" or "concluded", context);
                offset = Offset(resumed!.Value);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{context} kill {kill + 1} of n2 at offset {Offset(job.Value)}: {loop.Acknowledged} guest flushes acknowledged before it; back and {Status(resumed.Value)} at {offset} after {clock.Elapsed.TotalSeconds:F1} s"));
                loop = NbdGuestLoop.Start(guest, ledger, groups, GuestCluster);
            }

            // The merge goes on, slower, while n3 (not the host) is killed and PostgreSQL is stopped; then at full speed.
            await SetSpeedAsync(n1, Disk, SlowSpeed);
            await NonHostKilledAsync(dir, n1, loop, failures, context);
            await PostgresRestartedAsync(dir, loop, failures, context);
            await SetSpeedAsync(n1, Disk, 0, concludedIsDone: true);
            var final = await WaitJobAsync(n1, Disk, JobTimeout, j => j is null || Status(j.Value) == "concluded", context);
            var after = loop.Acknowledged;
            await loop.WaitForAcknowledgedAsync(after + 3, TimeSpan.FromSeconds(20));
            await loop.StopAsync();
            failures.AddRange(loop.Failures.Select(f => $"{context} after the kills: {f}"));
            if (final is not { } done || done.TryGetProperty("error", out _))
            {
                failures.Add($"{context} the job did not complete: {final?.ToString() ?? "gone"}");
            }

            using (var shown = await n1.GetAsync($"disks/{Disk}"))
            {
                var nodeChain = JsonDocument.Parse(await shown.Content.ReadAsStringAsync()).RootElement.GetProperty("chain").EnumerateArray().Select(p => p.GetString()).ToList();
                if (!nodeChain.SequenceEqual([chain.Top, chain.Bottom]))
                {
                    failures.Add($"{context} the chain is [{string.Join(", ", nodeChain)}], expected [top, base]");
                }
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

    /// <summary>n3 (not the host) killed: the guest's flushes go on and the merge advances, as seen from n1; then n3 returns.</summary>
    private async Task NonHostKilledAsync(TempDirectory dir, HttpClient n1, NbdGuestLoop loop, List<string> failures, string context)
    {
        var before = await WaitJobAsync(n1, Disk, JobTimeout, j => j is not null, context);
        var acknowledged = loop.Acknowledged;
        await KillAsync(dir, "n3");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var during = await WaitJobAsync(n1, Disk, JobTimeout, j => j is null || Status(j.Value) == "concluded" || Offset(j.Value) > Offset(before!.Value), context);
        await loop.WaitForAcknowledgedAsync(acknowledged + 3, TimeSpan.FromSeconds(20));
        if (loop.Acknowledged < acknowledged + 3 || loop.Failures.Count > 0)
        {
            failures.Add($"{context} with n3 killed the guest had {loop.Acknowledged - acknowledged} flushes acknowledged; failures: {string.Join("; ", loop.Failures)}");
        }

        output.WriteLine($"{context} n3 killed: the job went from {Offset(before!.Value)} to {(during is { } d ? Offset(d) : -1)}, {loop.Acknowledged - acknowledged} guest flushes acknowledged meanwhile");
        await LocalClusterScript.RunAsync(output, "up", dir.Path, CrashTestNodeSettings);
    }

    /// <summary>PostgreSQL stopped for a few seconds mid-merge: the guest's flushes go on throughout; then it starts again.</summary>
    private async Task PostgresRestartedAsync(TempDirectory dir, NbdGuestLoop loop, List<string> failures, string context)
    {
        var script = Path.Combine(Path.GetDirectoryName(LocalClusterScript.Script)!, "postgres.sh");
        var acknowledged = loop.Acknowledged;
        (await ProcessRunner.RunAsync("bash", [script, "stop", dir.Combine("postgres")], dir.Path, TimeSpan.FromMinutes(1))).EnsureSuccess();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await loop.WaitForAcknowledgedAsync(acknowledged + 3, TimeSpan.FromSeconds(20));
        var during = loop.Acknowledged - acknowledged;
        (await ProcessRunner.RunAsync("bash", [script, "start", dir.Combine("postgres"), "55433"], dir.Path, TimeSpan.FromMinutes(2))).EnsureSuccess();
        if (during < 3 || loop.Failures.Count > 0)
        {
            failures.Add($"{context} with PostgreSQL stopped the guest had {during} flushes acknowledged; failures: {string.Join("; ", loop.Failures)}");
        }

        output.WriteLine($"{context} PostgreSQL stopped for 4 s and started again: {during} guest flushes acknowledged meanwhile");
    }
}
