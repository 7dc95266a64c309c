using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>Registering disks: storage roots, files that are not usable images, and unregistering.</summary>
public sealed class RegistrationTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task Register_discovers_the_chain_and_a_second_registration_is_refused()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 71);
        var info = await Register(Disk, chain[^1]);

        Assert.Equal(chain.Reverse(), info.Chain);
        Assert.Equal(chain[^1], info.ActivePath);
        Assert.Equal(["D.qcow2", "C.qcow2", "B.qcow2", "A.qcow2"], info.Images.Select(i => Path.GetFileName(i.Path)));
        Assert.Equal("C.qcow2", info.Images[0].BackingFile);
        Assert.Empty(info.Jobs);
        var again = await Node.AskRefused(new DiskCommands.Register(Disk, chain[^1]));
        Assert.Equal("conflict", again.Error.Code);
        var badId = await Node.AskRefused(new DiskCommands.Register(new DiskId("../evil"), chain[^1]));
        Assert.Equal("invalid-parameter", badId.Error.Code);
        var list = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Equal([new ManagerCommands.DiskSummary("vm1", chain[^1], 4, 0, Host: EngineNode.DefaultName)], list.Disks);
    }

    [Fact]
    public async Task Paths_outside_the_storage_roots_are_refused()
    {
        using var outside = new TempDirectory("outside");
        var foreign = BuildChain(outside.Path, 16 * MiB, seed: 72, layers: 2);
        var refused = await Node.AskRefused(new DiskCommands.Register(Disk, foreign[^1]));
        Assert.Equal("outside-storage-root", refused.Error.Code);

        // An image inside the root whose backing file lies outside it.
        var inside = PathOf("top.qcow2");
        QemuTools.Create(inside, 16 * MiB, backing: foreign[^1]);
        var viaBacking = await Node.AskRefused(new DiskCommands.Register(new DiskId("vm2"), inside));
        Assert.Equal("outside-storage-root", viaBacking.Error.Code);

        // A symlink inside the root that leads outside.
        var link = PathOf("link.qcow2");
        File.CreateSymbolicLink(link, foreign[^1]);
        var viaLink = await Node.AskRefused(new DiskCommands.Register(new DiskId("vm3"), link));
        Assert.Equal("outside-storage-root", viaLink.Error.Code);

        var chain = BuildChain(Dir, 16 * MiB, seed: 73);
        await Register(Disk, chain[^1]);
        var snapshot = await Node.AskRefused(new DiskCommands.Snapshot(Disk, outside.Combine("snap.qcow2")));
        Assert.Equal("outside-storage-root", snapshot.Error.Code);
        Assert.False(File.Exists(outside.Combine("snap.qcow2")));
        var escape = await Node.AskRefused(new DiskCommands.Snapshot(Disk, Path.Combine(Dir, "..", "escape.qcow2")));
        Assert.Equal("outside-storage-root", escape.Error.Code);
        var list = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Equal(["vm1"], list.Disks.Select(d => d.Disk));
    }

    [Fact]
    public async Task A_file_that_is_not_qcow2_or_does_not_exist_is_refused_clearly()
    {
        var raw = PathOf("disk.raw");
        await File.WriteAllBytesAsync(raw, new byte[1024 * 1024]);
        var notQcow2 = await Node.AskRefused(new DiskCommands.Register(Disk, raw));
        Assert.Equal("invalid-image", notQcow2.Error.Code);

        var missing = await Node.AskRefused(new DiskCommands.Register(new DiskId("vm2"), PathOf("missing.qcow2")));
        Assert.Equal("not-found", missing.Error.Code);
        Assert.Contains("missing.qcow2", missing.Error.Message, StringComparison.Ordinal);

        // A chain whose backing file is gone.
        QemuTools.Create(PathOf("base.qcow2"), 16 * MiB);
        QemuTools.Create(PathOf("top.qcow2"), 16 * MiB, backing: "base.qcow2");
        File.Delete(PathOf("base.qcow2"));
        var broken = await Node.AskRefused(new DiskCommands.Register(new DiskId("vm3"), PathOf("top.qcow2")));
        Assert.NotEqual("io-error", broken.Error.Code);
        Assert.Contains("base.qcow2", broken.Error.Message, StringComparison.Ordinal);

        var list = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Empty(list.Disks);

        // The same ids register fine once the file is a good image.
        var chain = BuildChain(Dir, 16 * MiB, seed: 74, layers: 2);
        await Register(Disk, chain[^1]);
    }

    [Fact]
    public async Task Unregister_is_refused_while_a_job_runs_and_allowed_after()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 75);
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });

        var refused = await Node.AskRefused(new DiskCommands.Unregister(Disk));
        Assert.Equal("busy", refused.Error.Code);
        Assert.Contains("'vm1'", refused.Error.Message, StringComparison.Ordinal);

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);
        await Node.AskOk<DiskReplies.Done>(new DiskCommands.Unregister(Disk));
        Assert.Equal("not-found", (await Node.AskRefused(new DiskCommands.Show(Disk))).Error.Code);
        Assert.True(File.Exists(chain[^1]));
        ImageAssert.CheckClean(chain[^1]);

        // Registered again, the disk shows the chain as it now is, and survives a restart.
        var info = await Register(Disk, chain[^1]);
        Assert.Equal([chain[^1]], info.Chain);
        await RestartAsync();
        Assert.Equal([chain[^1]], (await Show(Disk)).Chain);
    }

    [Fact]
    public async Task An_image_another_disk_uses_cannot_be_registered_as_an_active_image_but_a_shared_base_can()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 76);
        var before = ImageAssert.CaptureRaw(chain[^1], PathOf("before.raw"));
        await Register(Disk, chain[^1]);

        // Two guests on one template: both chains end in A, which only ever is read.
        var clone = PathOf("clone.qcow2");
        QemuTools.Create(clone, 16 * MiB, backing: "A.qcow2");
        await Register(new DiskId("clone"), clone);

        // QEMU's image locking refuses a second writer: the active image, or a backing image, of a disk in use.
        var sameActive = await Node.Ask(new DiskCommands.Register(new DiskId("twin"), chain[^1]));
        var backingOfOther = await Node.Ask(new DiskCommands.Register(new DiskId("mid"), chain[1]));
        ImageAssert.SameGuestView(chain[^1], before);
        Assert.Contains("'vm1'", Assert.IsType<DiskReplies.Refused>(sameActive).Error.Message, StringComparison.Ordinal);
        Assert.Contains("'vm1'", Assert.IsType<DiskReplies.Refused>(backingOfOther).Error.Message, StringComparison.Ordinal);
    }
}
