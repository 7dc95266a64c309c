using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Where we go beyond QEMU: jobs survive a node restart. The actor system is stopped mid-job and a new one (new manager,
/// same SQLite journal) must resume the job from its checkpoint by itself, and trust the image headers over the journal.
/// </summary>
public sealed class RestartRecoveryTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Running_job_resumes_by_itself_from_its_checkpoint_after_restarts(bool withBase)
    {
        var chain = BuildDenseChain(Dir, 32 * MiB, seed: 81);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = withBase ? chain[0] : null, Speed = 4 * MiB });

        // Every step scans 1 MiB and checkpoints fall every 2 MiB: at offset O one at O - 3 MiB or later is persisted
        // once the actor has handled the query after the one that saw O.
        await WaitForOffset(Disk, "vm1", 6 * MiB);
        var seen = (await QueryLive(Disk, "vm1")).Offset;
        var floor = seen - Settings.CheckpointBytes - Settings.BatchBytes;

        await RestartAsync();
        var resumed = await QueryLive(Disk, "vm1");
        Assert.True(resumed.Offset >= floor, $"offset after restart {resumed.Offset} < checkpoint floor {floor} (seen {seen} before)");
        var announced = await Node.WaitForEvent<JobResumedEvent>(e => e.Id == "vm1", JobTimeout);
        Assert.Equal(("vm1", "vm1", "running"), (announced.Id, announced.Disk, announced.Status));
        Assert.True(announced.Offset >= floor && announced.Offset <= resumed.Offset, $"JOB_RESUMED offset {announced.Offset} outside [{floor}, {resumed.Offset}]");
        Assert.Equal(32 * MiB, announced.Len);
        Assert.Equal("running", resumed.Status);
        Assert.Equal(4 * MiB, resumed.Speed);

        // Again, from wherever the resumed job got to.
        var second = await WaitForOffset(Disk, "vm1", resumed.Offset + (4 * MiB));
        floor = second.Offset - Settings.CheckpointBytes - Settings.BatchBytes;
        await QueryLive(Disk, "vm1");
        await RestartAsync();
        var after = await QueryLive(Disk, "vm1");
        Assert.True(after.Offset >= floor, $"second restart lost the checkpoint: offset {after.Offset} ({after.Status}) < floor {floor}; seen {second.Offset}; events: {Node.DescribeEvents()}");

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.DoesNotContain("created", StatusesOf("vm1"));
        Assert.Equal(["waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        var expectedChain = withBase ? new[] { top, chain[0] } : [top];
        Assert.Equal(expectedChain, (await Show(Disk)).Chain);
        Assert.Equal(withBase ? "A.qcow2" : null, ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Paused_job_stays_paused_after_a_restart_and_completes_on_resume()
    {
        var chain = BuildDenseChain(Dir, 32 * MiB, seed: 82);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 4 * MiB });
        await WaitForOffset(Disk, "vm1", 4 * MiB);
        await Verb(Disk, "vm1", JobVerb.Pause);
        var pausedAt = (await QueryLive(Disk, "vm1")).Offset;

        await RestartAsync();
        var after = await QueryLive(Disk, "vm1");
        Assert.Equal("paused", after.Status);
        Assert.True(after.Paused);
        Assert.False(after.Busy);
        Assert.True(after.Offset > 0, "a paused job lost its checkpoint");
        await Task.Delay(1000);
        var later = await QueryLive(Disk, "vm1");
        Assert.Equal(after.Offset, later.Offset);
        Assert.Equal("paused", later.Status);
        // Nothing happened to the job but its pick-up, which says it stays paused.
        var resumed = Assert.IsType<JobResumedEvent>(Assert.Single(Node.RunEvents()));
        Assert.Equal(("paused", after.Offset), (resumed.Status, resumed.Offset));
        Assert.True(later.Offset <= pausedAt + Settings.BatchBytes, $"offset {later.Offset} moved past where the job paused ({pausedAt})");

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        await Verb(Disk, "vm1", JobVerb.Resume);
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Stream_into_an_intermediate_image_resumes_after_a_restart()
    {
        var chain = BuildChain(Dir, 32 * MiB, seed: 83);
        var (mid, top) = (chain[2], chain[3]);
        var guest = ImageAssert.CaptureRaw(top, PathOf("guest.raw"));
        var midView = ImageAssert.CaptureRaw(mid, PathOf("mid.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Top = "C.qcow2", JobId = new JobId("stream-mid"), Speed = 2 * MiB });
        await WaitForOffset(Disk, "stream-mid", 4 * MiB);

        await RestartAsync();
        Assert.Equal("running", (await QueryLive(Disk, "stream-mid")).Status);
        await Verb(Disk, "stream-mid", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("stream-mid")).Error);

        Assert.Equal([top, mid], (await Show(Disk)).Chain);
        Assert.Null(ImageAssert.BackingFileOf(mid));
        ImageAssert.CheckClean(mid);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(mid, midView);
        ImageAssert.SameGuestView(top, guest);
    }

    [Fact]
    public async Task Commit_found_in_the_header_at_restart_completes_the_job_instead_of_redoing_it()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 84);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 1 * MiB });
        await WaitForOffset(Disk, "vm1", 1 * MiB);
        await Node.StopAsync();

        // The copy finished and the header write landed, but the node died before it persisted the completion.
        QemuTools.Img("rebase", "-f", "qcow2", "-b", "A.qcow2", "-F", "qcow2", top).EnsureSuccess();
        Assert.Equal("A.qcow2", ImageAssert.BackingFileOf(top));

        await RestartAsync();
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Null(await Query(Disk, "vm1"));
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        Assert.Equal(["waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        // The disk works normally afterwards.
        await Stream(Disk, new StreamRequest { JobId = new JobId("full") });
        Assert.Null((await WaitCompleted("full")).Error);
        Assert.Null(ImageAssert.BackingFileOf(top));
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Chain_changed_on_disk_while_the_node_was_down_is_reconciled_at_restart()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 85);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Node.StopAsync();

        QemuTools.Img("rebase", "-f", "qcow2", "-b", "B.qcow2", "-F", "qcow2", top).EnsureSuccess();

        await RestartAsync();
        var info = await Show(Disk);
        Assert.Equal([top, chain[1], chain[0]], info.Chain);
        Assert.Equal(info.Chain, info.Images.Select(i => i.Path));

        // Jobs are validated against the real chain: C is no longer in it.
        var refused = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Base = chain[2] }));
        Assert.Equal("invalid-parameter", refused.Error.Code);
        await Stream(Disk, new StreamRequest { Base = chain[0] });
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        // And the reconciled chain is what the journal now holds.
        await RestartAsync();
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
    }

    [Fact]
    public async Task Block_copy_resumes_after_a_restart_and_ends_self_contained()
    {
        var chain = BuildChain(Dir, 32 * MiB, seed: 86);
        var before = ImageAssert.CaptureRaw(chain[^1], PathOf("before.raw"));
        var destination = PathOf("copy.qcow2");
        await Register(Disk, chain[^1]);
        await Node.AskOk<DiskReplies.JobStarted>(new DiskCommands.BlockCopy(Disk, destination, new StreamRequest { Speed = 4 * MiB }));
        await WaitForOffset(Disk, "vm1", 4 * MiB);

        await RestartAsync();
        var info = await Show(Disk);
        Assert.Equal(destination, info.ActivePath);
        Assert.Equal("block-copy", (await QueryLive(Disk, "vm1")).Type);
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);

        Assert.Equal([destination], (await Show(Disk)).Chain);
        Assert.Null(ImageAssert.BackingFileOf(destination));
        ImageAssert.CheckClean(destination);
        ImageAssert.SameGuestView(destination, before);
    }

    [Fact]
    public async Task Concluded_job_without_auto_dismiss_is_still_there_after_a_restart()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 87);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Base = chain[0], AutoDismiss = false });
        await WaitCompleted("vm1");

        await RestartAsync();
        var job = await QueryLive(Disk, "vm1");
        Assert.Equal("concluded", job.Status);
        Assert.Equal(job.Len, job.Offset);
        Assert.Null(job.Error);
        Assert.Empty(Node.RunEvents());
        await Verb(Disk, "vm1", JobVerb.Dismiss);
        Assert.Null(await Query(Disk, "vm1"));
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
    }

    [Fact]
    public async Task Disk_with_a_snapshot_recovers_after_a_restart()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 88);
        var overlay = PathOf("E.qcow2");
        await Register(Disk, chain[^1]);
        await Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Snapshot(Disk, overlay));

        await RestartAsync();
        var info = await Show(Disk);
        Assert.Equal([overlay, .. chain.Reverse()], info.Chain);
        Assert.Equal(overlay, info.ActivePath);
    }

    [Fact]
    public async Task Jobs_on_several_disks_all_resume_after_a_restart()
    {
        var first = BuildDenseChain(Directory.CreateDirectory(PathOf("one")).FullName, 16 * MiB, seed: 89);
        var second = BuildChain(Directory.CreateDirectory(PathOf("two")).FullName, 16 * MiB, seed: 90);
        var rawOne = ImageAssert.CaptureRaw(first[^1], PathOf("one.raw"));
        var rawTwo = ImageAssert.CaptureRaw(second[^1], PathOf("two.raw"));
        await Register(new DiskId("one"), first[^1]);
        await Register(new DiskId("two"), second[^1]);
        // Slow enough that neither can end before the restart on a loaded machine (a job that ended before it would
        // send its completion to the old node, and this test would wait for it on the new one); checked, then lifted.
        await Stream(new DiskId("one"), new StreamRequest { Speed = 1 * MiB });
        await Stream(new DiskId("two"), new StreamRequest { Base = second[0], Speed = 256 * 1024 });
        await WaitForOffset(new DiskId("one"), "one", 1 * MiB);
        var two = await QueryLive(new DiskId("two"), "two");
        Assert.True(two.Offset < two.Len, $"job 'two' ran to its end before the restart: {two.Offset}/{two.Len}");

        await RestartAsync();
        await WaitUntil(
            async () => await Query(new DiskId("one"), "one") is not null && await Query(new DiskId("two"), "two") is not null,
            "both jobs back after the restart");
        await Verb(new DiskId("one"), "one", JobVerb.SetSpeed, 0);
        await Verb(new DiskId("two"), "two", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("one")).Error);
        Assert.Null((await WaitCompleted("two")).Error);

        Assert.Equal([first[^1]], (await Show(new DiskId("one"))).Chain);
        Assert.Equal([second[^1], second[0]], (await Show(new DiskId("two"))).Chain);
        ImageAssert.CheckClean(first[^1]);
        ImageAssert.CheckClean(second[^1]);
        ImageAssert.SameGuestView(first[^1], rawOne);
        ImageAssert.SameGuestView(second[^1], rawTwo);
    }
}
