using System.Diagnostics;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests.Jobs;

/// <summary>
/// A cancel racing the commit of a short stream. It once left the job stuck in aborting (6 of 40 tries, cancel 0-80 ms
/// after the start): the header was committed while the disk's chain still listed the old base, and cancel, dismiss,
/// remove and a new stream answered 409 until a restart. Now the disk actor decides commit or cancel, one or the other.
/// </summary>
public sealed class CancelCommitRaceTests(ITestOutputHelper output) : EngineTestBase
{
    private const int Rounds = 100;

    [Fact]
    public async Task A_cancel_at_any_moment_ends_the_job_completed_with_the_new_base_or_cancelled_with_the_old_chain()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable(RandomChainBuilder.SeedVariable), out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next(1, int.MaxValue);
        output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
        var random = new Random(seed);
        var (completed, cancelled) = (0, 0);
        for (var round = 0; round < Rounds; round++)
        {
            var outcome = await RaceOnce(round, random.Next(0, 101), random.Next());
            if (outcome)
            {
                completed++;
            }
            else
            {
                cancelled++;
            }
        }

        output.WriteLine($"{completed} completed, {cancelled} cancelled of {Rounds}");
    }

    /// <summary>One stream of A &lt;- B &lt;- C into C with base A, cancelled <paramref name="delayMs"/> after it started; true when it completed.</summary>
    private async Task<bool> RaceOnce(int round, int delayMs, int chainSeed)
    {
        var what = $"round {round} (cancel after {delayMs} ms)";
        var disk = new DiskId($"race{round}");
        var paths = BuildChain(Dir, 4 * MiB, chainSeed, layers: 3, prefix: $"r{round}-");
        var (a, b, c) = (paths[0], paths[1], paths[2]);
        var before = GuestView(c);
        await Register(disk, c);

        var clock = Stopwatch.StartNew();
        await Stream(disk, new StreamRequest { Base = a });
        var wait = TimeSpan.FromMilliseconds(delayMs) - clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        // Accepted while the job lives; refused once it is gone (not-found) or concluding (wrong-state). Never stuck.
        var cancel = await Node.Ask(new DiskCommands.JobVerbCommand(disk, new JobId(disk.Value), JobVerb.Cancel));
        Assert.True(cancel is DiskReplies.JobList or DiskReplies.Refused { Error.Code: "not-found" or "wrong-state" },
            $"{what}: cancel answered {cancel}");
        await WaitUntil(async () => await Query(disk, disk.Value) is null, $"{what}: the job to end");

        var ends = Node.Events.Retained().Where(e => e is BlockJobCompletedEvent { } x && x.Device == disk.Value
            || e is BlockJobCancelledEvent { } y && y.Device == disk.Value).ToList();
        var end = Assert.Single(ends);
        var show = await Show(disk);
        var header = ImageAssert.BackingFileOf(c);
        bool completedJob;
        if (end is BlockJobCompletedEvent done)
        {
            Assert.True(done.Error is null, $"{what}: completed with error {done.Error}");
            Assert.Equal([c, a], show.Chain);
            Assert.Equal(Path.GetFileName(a), header);
            completedJob = true;
        }
        else
        {
            Assert.Equal([c, b, a], show.Chain);
            Assert.Equal(Path.GetFileName(b), header);
            completedJob = false;
        }

        // Nothing held the disk: it unregisters (the stuck job made this answer 409), then the files are checked.
        await Node.AskOk<DiskReplies.Done>(new DiskCommands.Unregister(disk));
        ImageAssert.CheckClean(c);
        Assert.True(before.AsSpan().SequenceEqual(GuestView(c)), $"{what}: the guest view changed");
        return completedJob;
    }
}
