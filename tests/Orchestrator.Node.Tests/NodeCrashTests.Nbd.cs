using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The crash test with a guest: while the stream runs, a seeded guest writes whole clusters through the disk's NBD
/// export with qemu-io and flushes; the node is killed with SIGKILL at several random moments and started again each
/// time. The job must resume by itself and complete; afterwards every flush the guest saw acknowledged must hold,
/// every cluster written without an acknowledged flush must read as one of the contents it may have had, and every
/// other cluster must read as the original chain did.
/// </summary>
public sealed partial class NodeCrashTests
{
    private const int GuestCluster = 64 * 1024;

    [Fact]
    public async Task Guest_writes_over_nbd_during_a_stream_survive_sigkills_as_far_as_they_were_flushed()
    {
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        var start = await StartGuestCrashAsync("nbd", GuestCluster);
        using var folder = start.Folder;
        var (chain, ledger, targets, context, rng) = (start.Chain, start.Ledger, start.Targets, start.Context, start.Rng);
        // The guest has its own randoms: it runs on another task than the kills.
        var guest = new NbdGuest(start.Uri, CrashChain.Size, new Random(start.Seed ^ 0x6e6264));
        var groupSizes = new Random(start.Seed ^ 0x67726f);
        var node = start.Node;
        try
        {
            for (var run = 0; run <= targets.Length; run++)
            {
                var loop = NbdGuestLoop.Start(guest, ledger, groupSizes, GuestCluster);
                await using (loop)
                {
                    if (run == targets.Length)
                    {
                        // The last life: the job completes under the writes, and a few more groups are acknowledged after.
                        await WaitGoneAsync(node, context);
                        var after = loop.Acknowledged;
                        await loop.WaitForAcknowledgedAsync(after + 3, TimeSpan.FromSeconds(20));
                        await loop.StopAsync();
                        failures.AddRange(loop.Failures.Select(f => $"{context} final run: {f}"));
                        output.WriteLine($"{context} final run: job completed, {loop.Groups} groups ({loop.Acknowledged} acknowledged)");
                        break;
                    }

                    var job = await PollJobAsync(node, j => j is not { } running || Offset(running) >= targets[run], TimeSpan.FromMilliseconds(3), context);
                    await Task.Delay(rng.Next(0, 150));
                    var offsetAtKill = job.ValueKind == JsonValueKind.Undefined ? -1 : Offset(job);
                    loop.NodeDying();
                    await node.KillAsync();
                    await loop.StopAsync();
                    failures.AddRange(loop.Failures.Select(f => $"{context} run {run + 1}: {f}"));
                    (node, var restart) = await RestartAfterKillAsync(node, folder.Path, chain, run + 1, failures, context);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{context} kill {run + 1} at offset {offsetAtKill} ({Pct(Math.Max(offsetAtKill, 0))}): {loop.Groups} groups ({loop.Acknowledged} acknowledged) in this life; {restart}"));
                }
            }

            await CheckNodeChainAsync(node, chain, failures, context);
        }
        finally
        {
            await node.DisposeAsync();
        }

        var mismatches = CheckFinalImage(folder.Path, chain, ledger, failures, context);
        output.WriteLine($"{context} {ledger.Issued} cluster writes issued, {ledger.Pinned} pinned by acknowledged flushes, {mismatches} clusters wrong; total {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
