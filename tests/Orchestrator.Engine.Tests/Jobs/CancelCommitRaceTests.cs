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
public sealed class CancelCommitRaceTests(ITestOutputHelper output)
    : EngineTestBase(settings => settings with { BatchBytes = 256 * 1024, CheckpointBytes = 512 * 1024 })
{
    private const int Rounds = 100;
    private readonly Dictionary<string, TimeSpan> _phases = [];
    private readonly Stopwatch _phase = new();

    /// <summary>Adds the time since the last mark to <paramref name="name"/>: where a slow run spends its time.</summary>
    private void Mark(string name)
    {
        _phases[name] = _phases.GetValueOrDefault(name) + _phase.Elapsed;
        _phase.Restart();
    }

    [Fact]
    public async Task A_cancel_at_any_moment_ends_the_job_completed_with_the_new_base_or_cancelled_with_the_old_chain()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable(RandomChainBuilder.SeedVariable), out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next(1, int.MaxValue);
        output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
        var random = new Random(seed);
        var template = Directory.CreateDirectory(PathOf("template")).FullName;
        BuildChain(template, 2 * MiB, random.Next(), layers: 3);
        var (completed, cancelled) = (0, 0);
        for (var round = 0; round < Rounds; round++)
        {
            var outcome = await RaceOnce(round, random.Next(0, 101), template);
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
        output.WriteLine(string.Join(", ", _phases.Select(p => $"{p.Key} {p.Value.TotalSeconds:F1} s")));
    }

    /// <summary>One stream of A &lt;- B &lt;- C (2 MiB, 8 batches) into C with base A, cancelled <paramref name="delayMs"/> after it started; true when it completed.</summary>
    private async Task<bool> RaceOnce(int round, int delayMs, string template)
    {
        var what = $"round {round} (cancel after {delayMs} ms)";
        var disk = new DiskId($"race{round}");
        _phase.Restart();
        // A copy of the chain built once (our writer flushes per write: building 100 chains took most of the time).
        var folder = Directory.CreateDirectory(PathOf($"r{round}")).FullName;
        foreach (var name in new[] { "A.qcow2", "B.qcow2", "C.qcow2" })
        {
            File.Copy(Path.Combine(template, name), Path.Combine(folder, name));
        }

        var (a, b, c) = (Path.Combine(folder, "A.qcow2"), Path.Combine(folder, "B.qcow2"), Path.Combine(folder, "C.qcow2"));
        var before = GuestView(c);
        Mark("copy");
        await Register(disk, c);
        Mark("register");

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
        Mark("stream+cancel");
        await WaitUntil(async () => await Query(disk, disk.Value) is null, $"{what}: the job to end");
        Mark("end");

        var ends = Node.RunEvents().Where(e => e is BlockJobCompletedEvent { } x && x.Device == disk.Value
            || e is BlockJobCancelledEvent { } y && y.Device == disk.Value).ToList();
        var end = Assert.Single(ends);
        var show = await Show(disk);
        Mark("show");
        var header = ImageAssert.BackingFileOf(c);
        Mark("qemu-img info");
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
        Mark("unregister");
        ImageAssert.CheckClean(c);
        Mark("qemu-img check");
        Assert.True(before.AsSpan().SequenceEqual(GuestView(c)), $"{what}: the guest view changed");
        return completedJob;
    }
}
