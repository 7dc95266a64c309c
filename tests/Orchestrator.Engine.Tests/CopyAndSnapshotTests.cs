using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>The seed's two live operations: external snapshot (snapshot_blkdev) and live block copy (snapshot + full stream).</summary>
public sealed class CopyAndSnapshotTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task Block_copy_makes_the_destination_the_self_contained_active_image()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 61);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var destination = PathOf("copy.qcow2");
        await Register(Disk, top);

        var started = await Node.AskOk<DiskReplies.JobStarted>(new DiskCommands.BlockCopy(Disk, destination, new StreamRequest()));
        Assert.Equal("block-copy", started.Job.Type);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal("block-copy", completed.Type);
        var info = await Show(Disk);
        Assert.Equal(destination, info.ActivePath);
        Assert.Equal([destination], info.Chain);
        Assert.Null(ImageAssert.BackingFileOf(destination));
        ImageAssert.CheckClean(destination);
        ImageAssert.SameGuestView(destination, before);

        // The old chain is untouched: a valid point-in-time image.
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);

        // The guest now writes the destination only.
        var live = await Node.LiveDisk(Disk);
        live.Write(0, new byte[4096]);
        live.Flush();
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Block_copy_to_an_existing_file_or_outside_the_root_is_refused_and_creates_nothing()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 62);
        await Register(Disk, chain[^1]);

        var existing = await Node.AskRefused(new DiskCommands.BlockCopy(Disk, chain[0], new StreamRequest()));
        Assert.Equal("invalid-parameter", existing.Error.Code);
        using var outside = new TempDirectory("outside");
        var target = outside.Combine("copy.qcow2");
        var refused = await Node.AskRefused(new DiskCommands.BlockCopy(Disk, target, new StreamRequest()));
        Assert.Equal("outside-storage-root", refused.Error.Code);
        Assert.False(File.Exists(target));
        var speed = await Node.AskRefused(new DiskCommands.BlockCopy(Disk, PathOf("copy.qcow2"), new StreamRequest { Speed = -5 }));
        Assert.Equal("Invalid parameter 'speed'", speed.Error.Message);
        Assert.False(File.Exists(PathOf("copy.qcow2")));
        Assert.Equal(4, (await Show(Disk)).Chain.Count);
    }

    [Fact]
    public async Task Snapshot_puts_a_new_active_image_on_top_and_guest_writes_go_there()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 63);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var overlay = PathOf("E.qcow2");
        await Register(Disk, top);

        var info = await Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Snapshot(Disk, overlay));
        Assert.Equal([overlay, .. chain.Reverse()], info.Chain);
        Assert.Equal(overlay, info.ActivePath);
        Assert.Equal("D.qcow2", ImageAssert.BackingFileOf(overlay));

        var live = await Node.LiveDisk(Disk);
        var data = new byte[3 * 65536];
        new Random(630).NextBytes(data);
        live.Write(5 * MiB + 4096, data);
        live.Flush();

        // The old top keeps the point-in-time view; the overlay holds the write and shows it.
        ImageAssert.SameGuestView(top, before);
        var expected = await File.ReadAllBytesAsync(before);
        data.CopyTo(expected, 5 * MiB + 4096);
        var expectedRaw = PathOf("expected.raw");
        await File.WriteAllBytesAsync(expectedRaw, expected);
        ImageAssert.SameGuestView(overlay, expectedRaw);
        Assert.Contains(ImageAssert.RangesAbove(overlay, 1), r => r.Start <= 5 * MiB && r.End >= (5 * MiB) + 4096 + data.Length);

        var again = await Node.AskRefused(new DiskCommands.Snapshot(Disk, overlay));
        Assert.Equal("invalid-parameter", again.Error.Code);

        // The snapshot is a normal chain: stream it down.
        await Stream(Disk, new StreamRequest { Base = chain[0] });
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([overlay, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(overlay);
        ImageAssert.SameGuestView(overlay, expectedRaw);
    }

    [Fact]
    public async Task Snapshot_is_refused_while_a_job_writes_the_active_image()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 64);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });

        var refused = await Node.AskRefused(new DiskCommands.Snapshot(Disk, PathOf("E.qcow2")));
        Assert.Equal("busy", refused.Error.Code);
        Assert.Contains("block job 'vm1'", refused.Error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("E.qcow2")));
        var copy = await Node.AskRefused(new DiskCommands.BlockCopy(Disk, PathOf("copy.qcow2"), new StreamRequest { JobId = new JobId("copy") }));
        Assert.Equal("busy", copy.Error.Code);
        Assert.False(File.Exists(PathOf("copy.qcow2")));

        await Verb(Disk, "vm1", JobVerb.Cancel);
        await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);
        await SettleAfterJobEnd();
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task Snapshot_during_a_stream_into_an_intermediate_image_keeps_both_consistent()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 65);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var overlay = PathOf("E.qcow2");
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Top = "C.qcow2", JobId = new JobId("stream-mid"), Speed = 4 * MiB });

        await Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Snapshot(Disk, overlay));
        var live = await Node.LiveDisk(Disk);
        var data = new byte[65536];
        new Random(650).NextBytes(data);
        live.Write(3 * MiB, data);
        live.Flush();
        await Verb(Disk, "stream-mid", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("stream-mid")).Error);

        Assert.Equal([overlay, top, chain[2]], (await Show(Disk)).Chain);
        var expected = await File.ReadAllBytesAsync(before);
        data.CopyTo(expected, 3 * MiB);
        var expectedRaw = PathOf("expected.raw");
        await File.WriteAllBytesAsync(expectedRaw, expected);
        ImageAssert.SameGuestView(overlay, expectedRaw);
        ImageAssert.SameGuestView(top, before);
        ImageAssert.CheckClean(overlay);
        ImageAssert.CheckClean(chain[2]);
        Assert.Null(ImageAssert.BackingFileOf(chain[2]));
    }
}
