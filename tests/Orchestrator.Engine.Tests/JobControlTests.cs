using System.Diagnostics;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>qemu-iotests 030's pause, cancel and set-speed cases: the job verbs on a running stream.</summary>
public sealed class JobControlTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task Paused_job_keeps_its_offset_then_resumes_and_completes()
    {
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 21);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Speed = 2 * MiB });
        await WaitForOffset(Disk, "vm1", 2 * MiB);

        var paused = (await Verb(Disk, "vm1", JobVerb.Pause)).Jobs.Single();
        Assert.True(paused.Paused);
        Assert.Equal("paused", paused.Status);

        // As 030's pause_wait: once the job reports busy=false, it sits at its pause point and the offset is final.
        JobInfo info = paused;
        await WaitUntil(async () => !(info = await QueryLive(Disk, "vm1")).Busy, "busy=false");
        var offset = info.Offset;
        await Task.Delay(1500);
        var later = await QueryLive(Disk, "vm1");
        Assert.Equal("paused", later.Status);
        Assert.True(later.Offset < later.Len);
        Assert.Equal("Job is already paused", (await VerbRefused(Disk, "vm1", JobVerb.Pause)).Error.Message);

        var resumed = (await Verb(Disk, "vm1", JobVerb.Resume)).Jobs.Single();
        Assert.False(resumed.Paused);
        Assert.Equal("running", resumed.Status);
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(["created", "running", "paused", "running", "waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        Assert.Null(ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        // Last, so that a failure here still shows that resume and completion work.
        Assert.True(offset == later.Offset, $"offset moved while paused (busy=false): {offset} -> {later.Offset}");
    }

    [Fact]
    public async Task Pause_and_resume_by_job_id_through_the_manager()
    {
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 22);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Speed = 4 * MiB });

        var paused = await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.JobVerbById(new JobId("vm1"), JobVerb.Pause));
        Assert.True(paused.Jobs.Single().Paused);
        var queried = await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.QueryJob(new JobId("vm1")));
        Assert.Equal("paused", queried.Jobs.Single().Status);
        Assert.Equal("vm1", queried.Jobs.Single().Disk);
        var all = await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.QueryAllJobs());
        Assert.Equal(["vm1"], all.Jobs.Select(j => j.Device));

        var missing = await Node.AskRefused(new ManagerCommands.JobVerbById(new JobId("nope"), JobVerb.Resume));
        Assert.True(missing.Error.Code == "not-found", missing.Error.Message);
        Assert.Equal("not-found", missing.Error.Code);
        Assert.Equal("not-found", (await Node.AskRefused(new ManagerCommands.QueryJob(new JobId("nope")))).Error.Code);

        await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.JobVerbById(new JobId("vm1"), JobVerb.SetSpeed, 0));
        await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.JobVerbById(new JobId("vm1"), JobVerb.Resume));
        Assert.Null((await WaitCompleted("vm1")).Error);
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task Cancel_emits_only_status_changes_then_cancelled_leaves_the_chain_and_a_new_stream_completes()
    {
        var chain = BuildChain(Dir, 32 * MiB, seed: 23);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 2 * MiB });
        await WaitForOffset(Disk, "vm1", 2 * MiB);

        await Verb(Disk, "vm1", JobVerb.Cancel);
        var cancelled = await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);

        Assert.Equal("stream", cancelled.Type);
        Assert.True(cancelled.Offset < cancelled.Len);
        Assert.Equal(["created", "running", "aborting", "concluded", "null"], StatusesOf("vm1"));
        Assert.Equal(["BLOCK_JOB_CANCELLED"], BlockJobEventsOf("vm1"));
        Assert.Null(await Query(Disk, "vm1"));
        await SettleAfterJobEnd();
        Assert.Equal(chain.Reverse(), (await Show(Disk)).Chain);
        Assert.Equal("C.qcow2", ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        // Right after CANCELLED the job id is free again (QEMU: the job is gone once it reached null).
        await Stream(Disk, new StreamRequest { Base = chain[0] });
        var completed = await WaitCompleted("vm1");
        Assert.Null(completed.Error);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Cancel_of_a_paused_job_does_not_complete_it()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 24);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });
        await Verb(Disk, "vm1", JobVerb.Pause);

        await Verb(Disk, "vm1", JobVerb.Cancel);
        await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);
        await Task.Delay(500);

        Assert.Equal(["BLOCK_JOB_CANCELLED"], BlockJobEventsOf("vm1"));
        Assert.Equal(["created", "running", "paused", "running", "aborting", "concluded", "null"], StatusesOf("vm1"));
        Assert.Equal(chain.Reverse(), (await Show(Disk)).Chain);
        Assert.Equal("C.qcow2", ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Set_speed_defaults_to_zero_refuses_negatives_and_is_visible_in_the_query()
    {
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 25);
        await Register(Disk, chain[^1]);

        var negative = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Speed = -1 }));
        Assert.Equal("Invalid parameter 'speed'", negative.Error.Message);
        var started = await Stream(Disk, new StreamRequest());
        Assert.Equal(0, started.Job.Speed);
        await Verb(Disk, "vm1", JobVerb.Pause);
        Assert.Equal(0, (await QueryLive(Disk, "vm1")).Speed);

        var refused = await VerbRefused(Disk, "vm1", JobVerb.SetSpeed, -1);
        Assert.Equal("Invalid parameter 'speed'", refused.Error.Message);
        Assert.Equal(0, (await QueryLive(Disk, "vm1")).Speed);

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 8 * MiB);
        Assert.Equal(8 * MiB, (await QueryLive(Disk, "vm1")).Speed);
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        await Verb(Disk, "vm1", JobVerb.Resume);
        var completed = await WaitCompleted("vm1");
        Assert.Equal(0, completed.Speed);
        Assert.Null(completed.Error);
    }

    [Fact]
    public async Task Low_speed_really_slows_the_job_and_setting_zero_lets_it_finish()
    {
        const long speed = 2 * MiB;
        var chain = BuildDenseChain(Dir, 32 * MiB, seed: 26);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);

        var clock = Stopwatch.StartNew();
        await Stream(Disk, new StreamRequest { Speed = speed });
        await Task.Delay(1000);
        var info = await QueryLive(Disk, "vm1");
        var elapsed = clock.Elapsed.TotalSeconds;

        // QEMU's rate limit: at most speed x elapsed plus the one request that opened the slice.
        var bound = (long)(speed * elapsed) + Settings.BatchBytes + (64 * 1024);
        Assert.True(info.Offset <= bound, $"offset {info.Offset} after {elapsed:F2} s exceeds {bound} at {speed} B/s");
        Assert.True(info.Offset > 0, "the job made no progress at all");
        Assert.Equal(speed, info.Speed);
        Assert.Equal("running", info.Status);

        // A higher speed (0 = unlimited) wakes a sleeping job.
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        var finish = Stopwatch.StartNew();
        var completed = await WaitCompleted("vm1");
        Assert.True(finish.Elapsed < TimeSpan.FromSeconds(10), $"unlimited job took {finish.Elapsed} for the rest of 32 MiB");
        Assert.Null(completed.Error);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Verbs_in_the_wrong_state_are_refused_with_qemu_wording()
    {
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 27);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Speed = 4 * MiB });

        var dismiss = await VerbRefused(Disk, "vm1", JobVerb.Dismiss);
        Assert.Equal("Job 'vm1' in state 'running' cannot accept command verb 'dismiss'", dismiss.Error.Message);
        var complete = await VerbRefused(Disk, "vm1", JobVerb.Complete);
        Assert.Equal("Job 'vm1' in state 'running' cannot accept command verb 'complete'", complete.Error.Message);
        var resume = await VerbRefused(Disk, "vm1", JobVerb.Resume);
        Assert.Equal("wrong-state", resume.Error.Code);
        var unknown = await VerbRefused(Disk, "nope", JobVerb.Pause);
        Assert.Equal("not-found", unknown.Error.Code);

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);
        var late = await VerbRefused(Disk, "vm1", JobVerb.Cancel);
        Assert.Equal("not-found", late.Error.Code);
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task New_stream_with_the_same_id_right_after_cancel_completes()
    {
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 28);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        var live = await Node.LiveDisk(Disk);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });
        await WaitForOffset(Disk, "vm1", 1);

        // A long guest request is in flight (it holds the disk's I/O lock), so the cancelled copy loop is slow to stop.
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var guestRequest = Task.Run(() => live.WithChain(_ =>
        {
            held.Set();
            release.Wait();
            return 0;
        }));
        held.Wait();
        await Verb(Disk, "vm1", JobVerb.Cancel);

        // As in QEMU, the job only aborts while its copy is still stopping: no BLOCK_JOB_CANCELLED yet, the id still taken.
        await Task.Delay(300);
        Assert.Equal("aborting", StatusesOf("vm1")[^1]);
        var early = await Node.Ask(new DiskCommands.Stream(Disk, new StreamRequest()));
        Assert.Equal("conflict", Assert.IsType<DiskReplies.Refused>(early).Error.Code);

        release.Set();
        await guestRequest;
        await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);
        Assert.Equal("null", StatusesOf("vm1")[^1]);

        // What a client does on BLOCK_JOB_CANCELLED: the id is free (status null), so it starts again at once.
        Expect<DiskReplies.JobStarted>(await Node.Ask(new DiskCommands.Stream(Disk, new StreamRequest())));
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal([top], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Cancel_during_the_rate_limit_sleep_copies_nothing_more()
    {
        // QEMU's stream checks for cancel right after the rate-limit sleep, before it copies the next chunk.
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 29);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);

        // 512 KiB/s: the job sleeps about 2 s before each 1 MiB batch, so the cancel lands in a sleep.
        await Stream(Disk, new StreamRequest { Speed = 512 * 1024 });
        await WaitForOffset(Disk, "vm1", 2 * MiB);

        var at = (await QueryLive(Disk, "vm1")).Offset;
        await Verb(Disk, "vm1", JobVerb.Cancel);
        await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);
        await Task.Delay(500);

        var copiedTo = ImageAssert.RangesAbove(top, 1).Max(r => r.End);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
        Assert.True(copiedTo <= at, $"the top holds data up to {copiedTo}, past the offset {at} where the job was cancelled");
    }

    [Fact]
    public async Task Cancelled_event_carries_the_progress_the_query_showed()
    {
        // Dense chain at 1 MiB/s: checkpoints fall at even MiB, so at 3 MiB the last one is at 2 MiB.
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 30);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });
        await WaitForOffset(Disk, "vm1", 3 * MiB);
        var progress = (await QueryLive(Disk, "vm1")).Offset;

        await Verb(Disk, "vm1", JobVerb.Cancel);
        var cancelled = await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);

        // QEMU's event offset is the job's progress, never behind what query-block-jobs already reported.
        Assert.True(cancelled.Offset >= progress, $"CANCELLED offset {cancelled.Offset} < offset {progress} reported before the cancel");
    }
}
