using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>block-stream's argument errors (qemu-iotests 030's error cases): refused before anything is written.</summary>
public sealed class StreamValidationTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task Unknown_disk_is_refused_as_not_found()
    {
        var refused = await Node.AskRefused(new DiskCommands.Stream(new DiskId("nope"), new StreamRequest()));
        Assert.Equal("not-found", refused.Error.Code);
        Assert.Contains("nope", refused.Error.Message, StringComparison.Ordinal);
        Assert.Equal("not-found", (await Node.AskRefused(new DiskCommands.Show(new DiskId("nope")))).Error.Code);
        Assert.Equal("not-found", (await Node.AskRefused(new DiskCommands.QueryJobs(new DiskId("nope")))).Error.Code);
    }

    [Fact]
    public async Task Top_outside_the_chain_is_refused_as_device_not_found()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 31);
        await Register(Disk, chain[^1]);
        var stray = PathOf("X.qcow2");
        QemuTools.Create(stray, 16 * MiB);

        var byPath = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = stray, JobId = new JobId("j") }));
        Assert.Equal("not-found", byPath.Error.Code);
        Assert.Contains("Cannot find device=", byPath.Error.Message, StringComparison.Ordinal);

        // A bare file name is how users name images of the chain (HMP: block_stream virtio0 A).
        var byName = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "X.qcow2", JobId = new JobId("j") }));
        Assert.Equal("not-found", byName.Error.Code);
        Assert.Empty(Node.RunEvents());
    }

    [Fact]
    public async Task Base_not_below_the_top_is_refused()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 32);
        var top = chain[^1];
        var map = QemuTools.Map(top);
        await Register(Disk, top);
        var stray = PathOf("X.qcow2");
        QemuTools.Create(stray, 16 * MiB);

        var notInChain = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Base = stray }));
        Assert.Equal("invalid-parameter", notInChain.Error.Code);
        Assert.Contains("is not a backing image of", notInChain.Error.Message, StringComparison.Ordinal);

        var top2 = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Base = top }));
        Assert.Equal("invalid-parameter", top2.Error.Code);

        var above = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = chain[1], Base = chain[2], JobId = new JobId("j") }));
        Assert.Equal("invalid-parameter", above.Error.Code);

        var byName = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Base = "X.qcow2" }));
        Assert.Equal("invalid-parameter", byName.Error.Code);
        Assert.Contains("is not a backing image of", byName.Error.Message, StringComparison.Ordinal);

        Assert.Empty(Node.RunEvents());
        Assert.Equal(map, QemuTools.Map(top));
    }

    [Fact]
    public async Task Backing_file_without_a_base_and_intermediate_top_without_job_id_are_refused()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 33);
        await Register(Disk, chain[^1]);

        var backing = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { BackingFile = "A.qcow2" }));
        Assert.Equal("backing file specified, but streaming the entire chain", backing.Error.Message);
        var noId = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "B.qcow2" }));
        Assert.Equal("invalid-parameter", noId.Error.Code);
        Assert.Empty(Node.RunEvents());
    }

    [Fact]
    public async Task Overlapping_jobs_are_refused_as_busy_naming_the_holding_job_and_disjoint_ones_run()
    {
        // 030 TestParallelOps.test_overlapping_1 on a chain A..I (I active).
        var chain = BuildChain(Dir, 16 * MiB, seed: 34, layers: 9);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Top = "E.qcow2", Base = "B.qcow2", JobId = new JobId("stream-e"), Speed = 1 * MiB });

        var intoTop = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "E.qcow2", JobId = new JobId("stream-e2") }));
        var aboveTop = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "F.qcow2", Base = "D.qcow2", JobId = new JobId("stream-f") }));
        var frozen = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "D.qcow2", Base = "C.qcow2", JobId = new JobId("stream-d") }));
        var sameId = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Top = "H.qcow2", Base = "G.qcow2", JobId = new JobId("stream-e") }));
        foreach (var refused in new[] { intoTop, aboveTop, frozen })
        {
            Assert.Equal("busy", refused.Error.Code);
            Assert.Contains("is busy: block device is in use by block job 'stream-e'", refused.Error.Message, StringComparison.Ordinal);
        }

        Assert.Contains("E.qcow2", intoTop.Error.Message, StringComparison.Ordinal);
        Assert.Contains("D.qcow2", frozen.Error.Message, StringComparison.Ordinal);
        Assert.Equal("Job ID 'stream-e' already in use", sameId.Error.Message);

        // Disjoint from stream-e: into its base (B onto A) and above it (top I, base F). One after the other, so that no
        // commit reopens the live chain under the active image's copy (see ParallelStreamTests for that case).
        await Stream(Disk, new StreamRequest { Top = "B.qcow2", Base = "A.qcow2", JobId = new JobId("stream-b") });
        Assert.Null((await WaitCompleted("stream-b")).Error);
        await Stream(Disk, new StreamRequest { Base = "F.qcow2" });
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal("running", (await QueryLive(Disk, "stream-e")).Status);
        await Verb(Disk, "stream-e", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("stream-e")).Error);

        var expected = new[] { "I", "F", "E", "B", "A" }.Select(n => PathOf(n + ".qcow2"));
        Assert.Equal(expected, (await Show(Disk)).Chain);
        foreach (var image in chain)
        {
            ImageAssert.CheckClean(image);
        }

        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Image_names_resolve_against_the_active_image_folder_and_an_ambiguous_file_name_is_refused()
    {
        // x/disk.qcow2 <- y/disk.qcow2 <- top.qcow2: two images of the chain share a file name.
        Directory.CreateDirectory(PathOf("x"));
        Directory.CreateDirectory(PathOf("y"));
        QemuTools.Create(PathOf("x/disk.qcow2"), 4 * MiB);
        QemuTools.Create(PathOf("y/disk.qcow2"), 4 * MiB, backing: "../x/disk.qcow2");
        QemuTools.Create(PathOf("top.qcow2"), 4 * MiB, backing: "y/disk.qcow2");
        await Register(Disk, PathOf("top.qcow2"));

        var ambiguous = await Node.AskRefused(new DiskCommands.Stream(Disk, new StreamRequest { Base = "disk.qcow2" }));
        Assert.Equal("invalid-parameter", ambiguous.Error.Code);
        Assert.Equal($"image name 'disk.qcow2' is ambiguous: 2 images of the chain have that file name ({PathOf("y/disk.qcow2")}, {PathOf("x/disk.qcow2")}); name it by its path",
            ambiguous.Error.Message);
        Assert.Empty(Node.RunEvents());

        // Relative to the active image's folder, whatever the engine's current folder is.
        await Stream(Disk, new StreamRequest { Base = "x/disk.qcow2" });
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([PathOf("top.qcow2"), PathOf("x/disk.qcow2")], (await Show(Disk)).Chain);
        Assert.Equal("x/disk.qcow2", ImageAssert.BackingFileOf(PathOf("top.qcow2")));
    }
}
