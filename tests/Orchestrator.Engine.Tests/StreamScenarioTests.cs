using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>qemu-iotests 030 TestSingleDrive through the actors: what a stream copies and what the chain becomes.</summary>
public sealed class StreamScenarioTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task Full_stream_leaves_the_top_with_no_backing_file_and_all_data()
    {
        var chain = BuildChain(Dir, 32 * MiB, seed: 1);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var present = ImageAssert.RangesAbove(top, int.MaxValue);
        await Register(Disk, top);

        var started = await Stream(Disk, new StreamRequest());
        Assert.Equal("stream", started.Job.Type);
        Assert.Equal(32 * MiB, started.Job.Len);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Equal(["created", "running", "waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        Assert.Equal(["BLOCK_JOB_COMPLETED"], BlockJobEventsOf("vm1"));
        Assert.Equal([top], (await Show(Disk)).Chain);
        Assert.Null(ImageAssert.BackingFileOf(top));
        Assert.Equal(present, ImageAssert.RangesAbove(top, 1));
        Assert.Null(await Query(Disk, "vm1"));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Partial_stream_with_the_bottom_as_base_copies_the_middle_images_only()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 2);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var aboveBase = ImageAssert.RangesAbove(top, 3);
        await Register(Disk, top);

        await Stream(Disk, new StreamRequest { Base = chain[0] });
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        Assert.Equal("A.qcow2", ImageAssert.BackingFileOf(top));
        Assert.Equal(aboveBase, ImageAssert.RangesAbove(top, 1));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
        foreach (var image in chain)
        {
            ImageAssert.CheckClean(image);
        }
    }

    [Fact]
    public async Task Stream_with_the_image_right_under_the_top_as_base_copies_nothing()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 3);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var map = QemuTools.Map(top);
        var ownBefore = (await Register(Disk, top)).Images[0].AllocatedBytes;

        await Stream(Disk, new StreamRequest { Base = "C.qcow2" });
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        var after = await Show(Disk);
        Assert.Equal(chain.Reverse(), after.Chain);
        Assert.Equal(ownBefore, after.Images[0].AllocatedBytes);
        Assert.Equal(map, QemuTools.Map(top));
        Assert.Equal("C.qcow2", ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Stream_into_an_intermediate_image_shortens_its_chain_and_keeps_the_guest_view()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 4);
        var (mid, top) = (chain[2], chain[3]);
        var guestBefore = ImageAssert.CaptureRaw(top, PathOf("guest.raw"));
        var midBefore = ImageAssert.CaptureRaw(mid, PathOf("mid.raw"));
        await Register(Disk, top);

        var noId = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = mid }));
        Assert.Equal("invalid-parameter", noId.Error.Code);

        var started = await Stream(Disk, new StreamRequest { Top = "C.qcow2", JobId = new JobId("stream-mid") });
        Assert.Equal("stream-mid", started.Job.Device);
        var completed = await WaitCompleted("stream-mid");

        Assert.Null(completed.Error);
        Assert.Equal(["created", "running", "waiting", "pending", "concluded", "null"], StatusesOf("stream-mid"));
        Assert.Empty(StatusesOf("vm1"));
        Assert.Equal([top, mid], (await Show(Disk)).Chain);
        Assert.Null(ImageAssert.BackingFileOf(mid));
        Assert.Equal("C.qcow2", ImageAssert.BackingFileOf(top));
        ImageAssert.CheckClean(mid);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, guestBefore);
        ImageAssert.SameGuestView(mid, midBefore);
    }

    [Fact]
    public async Task Backing_file_string_is_written_into_the_header_instead_of_the_base_name()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 5);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);

        await Stream(Disk, new StreamRequest { Base = chain[1], BackingFile = "./B.qcow2" });
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal("./B.qcow2", ImageAssert.BackingFileOf(top));
        Assert.Equal([top, chain[1], chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Without_auto_dismiss_a_concluded_job_stays_queryable_until_dismissed()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 6);
        await Register(Disk, chain[^1]);

        await Stream(Disk, new StreamRequest { Base = chain[0], AutoDismiss = false });
        await WaitCompleted("vm1");

        var concluded = await QueryLive(Disk, "vm1");
        Assert.Equal("concluded", concluded.Status);
        Assert.False(concluded.AutoDismiss);
        Assert.Equal(["created", "running", "waiting", "pending", "concluded"], StatusesOf("vm1"));
        var again = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest()));
        Assert.Contains("already in use", again.Error.Message, StringComparison.Ordinal);
        var pause = await VerbRefused(Disk, "vm1", JobVerb.Pause);
        Assert.Equal("Job 'vm1' in state 'concluded' cannot accept command verb 'pause'", pause.Error.Message);

        await Verb(Disk, "vm1", JobVerb.Dismiss);
        Assert.Null(await Query(Disk, "vm1"));
        Assert.Equal("null", StatusesOf("vm1")[^1]);
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task Stream_of_a_disk_without_backing_file_completes_at_once()
    {
        var image = PathOf("single.qcow2");
        QemuTools.Create(image, 16 * MiB);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x5a 1M 2M", image).EnsureSuccess();
        var before = ImageAssert.CaptureRaw(image, PathOf("before.raw"));
        await Register(Disk, image);

        await Stream(Disk, new StreamRequest());
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal([image], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(image);
        ImageAssert.SameGuestView(image, before);
    }

    [Fact]
    public async Task Backing_files_shorter_than_the_top_read_as_zeros_past_their_end()
    {
        // 030 TestSmallerBackingFile, one level deeper: A 4 MiB <- B 8 MiB <- C 16 MiB.
        string[] names = ["short-A.qcow2", "short-B.qcow2", "short-C.qcow2"];
        long[] sizes = [4 * MiB, 8 * MiB, 16 * MiB];
        for (var i = 0; i < names.Length; i++)
        {
            QemuTools.Create(PathOf(names[i]), sizes[i], backing: i == 0 ? null : names[i - 1]);
        }

        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 4M", PathOf(names[0])).EnsureSuccess();
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x22 3M 3M", PathOf(names[1])).EnsureSuccess();
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x33 10M 1M", PathOf(names[2])).EnsureSuccess();
        var top = PathOf(names[2]);
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);

        await Stream(Disk, new StreamRequest { Base = PathOf(names[0]), JobId = new JobId("partial") });
        Assert.Null((await WaitCompleted("partial")).Error);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        await Stream(Disk, new StreamRequest { JobId = new JobId("full") });
        Assert.Null((await WaitCompleted("full")).Error);
        Assert.Equal([top], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }
}
