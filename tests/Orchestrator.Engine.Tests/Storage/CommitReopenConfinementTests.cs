using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests.Storage;

/// <summary>
/// The reopen after a commit is an open like any other (issue 9): the base's name, a symlink inside the root, is
/// repointed outside while a stream runs. The commit writes that name into the top's header, as QEMU would; the
/// reopen must not follow it out: the disk is quarantined (and stays so after a restart), the guest never reads the
/// outside image.
/// </summary>
public sealed class CommitReopenConfinementTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    [Fact]
    public async Task A_base_symlink_repointed_outside_during_a_stream_is_not_followed_by_the_reopen_after_the_commit()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 91);
        var realBase = PathOf("A-real.qcow2");
        File.Move(chain[0], realBase);
        File.CreateSymbolicLink(chain[0], "A-real.qcow2");
        await Register(Disk, chain[^1]);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 1 * MiB });

        using var outside = new TempDirectory("outside");
        var foreign = outside.Combine("O.qcow2");
        QemuTools.Create(foreign, 16 * MiB);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x6f 0 16M", foreign).EnsureSuccess();
        File.Delete(chain[0]);
        File.CreateSymbolicLink(chain[0], foreign);
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal("A.qcow2", ImageAssert.BackingFileOf(chain[^1]));

        // The reopen refuses the name; the disk entity starts again from its journal, finds its chain leading outside,
        // and is quarantined: nothing of the disk is served any more, so no outside byte reaches a guest.
        await WaitUntil(IsQuarantined, "the disk to be quarantined after the commit");
        Assert.Contains("outside the storage roots", (await Show(Disk)).Quarantine, StringComparison.Ordinal);
        Assert.Null(Node.Disks.Find(Disk));

        await RestartAsync();
        await WaitUntil(IsQuarantined, "the disk to be quarantined after the restart");
        Assert.Contains("outside the storage roots", (await Show(Disk)).Quarantine, StringComparison.Ordinal);
        Assert.Null(Node.Disks.Find(Disk));
        await Node.StopAsync();
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.CheckClean(realBase);
        ImageAssert.CheckClean(foreign);
    }

    /// <summary>A question that reaches the entity while it stops is lost with it: such a question counts as not yet.</summary>
    private async Task<bool> IsQuarantined()
    {
        try
        {
            return await Node.Manager.Ask<object>(new DiskCommands.Show(Disk), TimeSpan.FromSeconds(1)) is DiskReplies.DiskInfo { State: DiskStates.Quarantined };
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }
}
