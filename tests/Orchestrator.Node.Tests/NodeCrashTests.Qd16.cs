using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The crash test with a concurrent guest at queue depth 16: while the stream runs, a seeded libnbd guest writes 4 KiB
/// blocks at random, 16 in flight, and flushes as it goes (<see cref="Qd16Guest"/>); the node is SIGKILLed at three
/// seeded moments and started again each time, and a new guest connects. The job must resume by itself and
/// complete; afterwards every block holds what the guest's acknowledged flushes promise (NBD: a flush covers the
/// writes acknowledged before it was sent) or one of the writes sent after, never torn data, every block never
/// written reads as the original chain did, and qemu-img check is clean.
/// </summary>
public sealed partial class NodeCrashTests
{
    [Fact]
    public async Task Qd16_random_writes_over_nbd_during_a_stream_survive_sigkills_as_far_as_they_were_flushed()
    {
        _ = Qd16Guest.Python; // fails at once, naming python3-libnbd, on a machine without it
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        var start = await StartGuestCrashAsync("qd16", Qd16Guest.BlockSize);
        using var folder = start.Folder;
        var (chain, ledger, targets, context, rng, uri) = (start.Chain, start.Ledger, start.Targets, start.Context, start.Rng, start.Uri);
        var node = start.Node;
        try
        {
            for (var run = 0; run <= targets.Length; run++)
            {
                var stop = Path.Combine(folder.Path, $"stop-guest-{run}");
                var guest = Qd16Guest.RunAsync(uri, CrashChain.Size, rng.Next(), stop);
                if (run == targets.Length)
                {
                    // The last life: the job completes under the writes, the guest writes on a little, then drains and flushes.
                    await WaitGoneAsync(node, context);

                    // The guest (python and libnbd) may take a second to start on a loaded machine: stopped before it has
                    // written, it would prove nothing.
                    await Qd16Guest.WaitWritingAsync(stop, guest, TimeSpan.FromSeconds(30));
                    await Task.Delay(300);
                    await File.WriteAllTextAsync(stop, "");
                    var last = await guest;
                    var log = Qd16GuestLog.Replay(last.StdOut, ledger);
                    if (last.ExitCode != 0 || !log.Connected || log.FlushesAcknowledged == 0)
                    {
                        failures.Add($"{context} final run: the guest failed while the node was up (exit {last.ExitCode}, {log}): {last.StdErr}");
                    }

                    output.WriteLine($"{context} final run: job completed; guest {log}");
                    await CheckNodeChainAsync(node, chain, failures, context);
                    break;
                }

                // Each kill falls while the guest writes: past its first 16 acknowledged writes (python and a loaded
                // machine can take a second to get there), then at the seeded offset or at once if the job is past it.
                if (!await Qd16Guest.WaitWritingAsync(stop, guest, TimeSpan.FromSeconds(30)))
                {
                    var early = guest.IsCompleted ? await guest : null;
                    failures.Add($"{context} run {run + 1}: the guest got no 16 writes acknowledged: {early?.StdOut[^Math.Min(500, early.StdOut.Length)..]}{early?.StdErr}");
                }

                var job = await PollJobAsync(node, j => j is not { } running || Offset(running) >= targets[run], TimeSpan.FromMilliseconds(3), context);
                await Task.Delay(rng.Next(0, 150));
                var offsetAtKill = job.ValueKind == JsonValueKind.Undefined ? -1 : Offset(job);
                var guestEndedEarly = guest.IsCompleted;
                await node.KillAsync();
                var result = await guest;
                var lifeLog = Qd16GuestLog.Replay(result.StdOut, ledger);
                if (guestEndedEarly || !lifeLog.Connected || lifeLog.Acknowledged == 0)
                {
                    failures.Add($"{context} run {run + 1}: the guest did not write until the kill ({lifeLog}; exit {result.ExitCode}): {result.StdErr}");
                }

                (node, var restart) = await RestartAfterKillAsync(node, folder.Path, chain, run + 1, failures, context);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{context} kill {run + 1} at offset {offsetAtKill} ({Pct(Math.Max(offsetAtKill, 0))}): guest {lifeLog}; {restart}"));
            }
        }
        finally
        {
            await node.DisposeAsync();
        }

        var mismatches = CheckFinalImage(folder.Path, chain, ledger, failures, context);
        output.WriteLine($"{context} {ledger.Issued} block writes sent, {ledger.Pinned} pinned by acknowledged flushes, {mismatches} blocks wrong; total {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
