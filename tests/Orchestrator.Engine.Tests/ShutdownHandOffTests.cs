using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// A node's coordinated shutdown holds each running job at a checkpoint of where it is before its disk stops. The
/// periodic checkpoints here are further apart than the whole disk, so only that hold can keep the progress.
/// </summary>
public sealed class ShutdownHandOffTests() : EngineTestBase(s => s with { CheckpointBytes = 1024 * MiB })
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task A_shutdown_keeps_a_running_jobs_progress_and_the_job_runs_on_after_the_restart()
    {
        var chain = BuildDenseChain(Dir, 32 * MiB, seed: 91);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 4 * MiB });
        var seen = (await WaitForOffset(Disk, "vm1", 8 * MiB)).Offset;

        await RestartAsync();
        var after = await QueryLive(Disk, "vm1");
        Assert.True(after.Offset >= seen, $"after the shutdown the job is at {after.Offset}, behind the {seen} it had reached; events: {Node.DescribeEvents()}");
        Assert.Equal("running", after.Status);
        Assert.False(after.Paused, "the hold at shutdown must not become a user pause");
        var resumed = await Node.WaitForEvent<JobResumedEvent>(e => e.Id == "vm1", JobTimeout);
        Assert.True(resumed.Offset >= seen, $"JOB_RESUMED from {resumed.Offset}, behind {seen}");

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }
}
