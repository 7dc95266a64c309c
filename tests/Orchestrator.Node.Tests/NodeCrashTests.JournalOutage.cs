using System.Diagnostics;
using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The journal's PostgreSQL stopped mid-merge and started again: the node waits for it instead of stopping the disk,
/// the guest's writes over NBD go on throughout, the node says why it is not ready and refuses journaling requests at
/// once, and the merge completes when the database returns, with every acknowledged flush on disk.
/// </summary>
public sealed partial class NodeCrashTests
{
    private static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task A_PostgreSQL_outage_mid_merge_is_waited_out_while_the_guest_writes_and_the_merge_completes()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var context = $"[seed {seed}, PostgreSQL outage]";
        var failures = new List<string>();
        using var folder = new TempDirectory("pg-outage");
        await using var postgres = await PrivatePostgres.StartAsync(Path.Combine(folder.Path, "pg"));
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(images, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);
        var ledger = new ClusterLedger(File.ReadAllBytes(reference), GuestCluster);
        string[] args = [.. NodeArgs, "--request-timeout", "20", "--journal", $"postgres:{postgres.ConnectionString}"];
        var node = await NodeProcess.StartAsync(folder.Path, TimeSpan.FromSeconds(90), args);
        try
        {
            await RegisterAsync(node, chain.D, context);
            await StartJobAsync(node, JobKind.Stream, chain, context);
            var uri = $"nbd+unix:///{Disk}?socket={Path.Combine(folder.Path, "data", NodePaths.NbdSocketFile)}";
            var loop = NbdGuestLoop.Start(new NbdGuest(uri, CrashChain.Size, new Random(seed ^ 0x6e6264)), ledger, new Random(seed ^ 0x67726f), GuestCluster);
            await using (loop)
            {
                var target = CrashChain.Size * rng.Next(10, 40) / 100;
                var before = Offset(await PollJobAsync(node, j => j is { } job && Offset(job) >= target, TimeSpan.FromMilliseconds(5), context));
                await postgres.StopAsync();
                var acknowledgedAtStop = loop.Acknowledged;
                var outage = Stopwatch.StartNew();

                // The node finds the outage at its next journal write (a checkpoint every 4 MiB at 24 MiB/s) and says so.
                var notReady = await WaitReadinessAsync(node, ready: false, TimeSpan.FromSeconds(15));
                Check(notReady.Contains("journal", StringComparison.Ordinal), $"{context} /readyz during the outage: {notReady}", failures);

                // A request that would journal is refused at once, naming the outage, instead of waiting for its timeout.
                var clock = Stopwatch.StartNew();
                using (var pause = await node.Http.PostAsync($"jobs/{Disk}/pause", null))
                {
                    var body = await pause.Content.ReadAsStringAsync();
                    Check(pause.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("journal", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(2),
                        $"{context} a pause during the outage answered {(int)pause.StatusCode} after {clock.Elapsed.TotalSeconds:F1} s: {body}", failures);
                }

                // The disk, whose actor waits for its checkpoint's write, is still listed (as unresponsive), never left out.
                using (var list = await node.Http.GetAsync("disks"))
                {
                    var body = await list.Content.ReadAsStringAsync();
                    Check(list.IsSuccessStatusCode && body.Contains($"\"id\":\"{Disk}\"", StringComparison.Ordinal),
                        $"{context} GET /disks during the outage answered {(int)list.StatusCode}: {body}", failures);
                    output.WriteLine($"{context} GET /disks during the outage: {body}");
                }

                await Task.Delay(OutageLength - outage.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
                await loop.WaitForAcknowledgedAsync(acknowledgedAtStop + 3, TimeSpan.FromSeconds(20));
                var duringOutage = loop.Acknowledged - acknowledgedAtStop;
                Check(duringOutage >= 3, $"{context} the guest had {duringOutage} flush groups acknowledged in the {outage.Elapsed.TotalSeconds:F1} s outage", failures);
                Check(loop.Failures.Count == 0, $"{context} the guest's writes failed during the outage: {string.Join("; ", loop.Failures)}", failures);

                await postgres.StartAgainAsync();
                await WaitGoneAsync(node, context);
                var ready = await WaitReadinessAsync(node, ready: true, TimeSpan.FromSeconds(20));
                var after = loop.Acknowledged;
                await loop.WaitForAcknowledgedAsync(after + 3, TimeSpan.FromSeconds(20));
                await loop.StopAsync();
                failures.AddRange(loop.Failures.Select(f => $"{context} {f}"));
                output.WriteLine($"{context} PostgreSQL stopped at offset {before} ({Pct(before)}) for {outage.Elapsed.TotalSeconds:F1} s; "
                    + $"{duringOutage} guest flush groups acknowledged meanwhile, {loop.Acknowledged} in all; readiness during: {notReady}; after: {ready}");
            }

            await CheckNodeChainAsync(node, chain, failures, context);
        }
        finally
        {
            await node.DisposeAsync();
        }

        var mismatches = CheckFinalImage(folder.Path, chain, ledger, failures, context);
        output.WriteLine($"{context} {ledger.Issued} cluster writes issued, {ledger.Pinned} pinned by acknowledged flushes, {mismatches} clusters wrong");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }

    /// <summary>Polls /readyz until it is (or is not) ready; returns its body. Throws with the last body on time-out.</summary>
    private static async Task<string> WaitReadinessAsync(NodeProcess node, bool ready, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var body = "";
        while (clock.Elapsed < timeout)
        {
            using var response = await node.Http.GetAsync(new Uri(node.Url, "/readyz"));
            body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode == ready)
            {
                return body;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"/readyz was not {(ready ? "ready" : "not ready")} within {timeout.TotalSeconds} s; last: {body}");
    }
}
