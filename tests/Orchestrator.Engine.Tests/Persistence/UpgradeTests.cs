using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Persistence;
using Xunit;

namespace Orchestrator.Engine.Tests.Persistence;

/// <summary>
/// A journal written by the engine of commit 001843f (Newtonsoft rows with .NET type names; see Fixtures/upgrade-001843f)
/// recovers with today's engine: same chain, the paused job resumes and completes, qemu-img check is clean, and
/// every row written after the upgrade is the wire serializer's.
/// </summary>
public sealed class UpgradeTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>Where the fixtures were made: the journal holds absolute image paths, so they go back there.</summary>
    private const string MadeIn = "/tmp/orchestrator-upgrade-v1";

    private static readonly DiskId Disk = new("vm1");

    [Theory]
    [InlineData("snapshot")]
    [InlineData("events")]
    public async Task An_old_journal_recovers_and_its_paused_job_resumes_and_completes(string variant)
    {
        var dir = Path.Combine(MadeIn, variant);
        var (a, b, c) = (Path.Combine(dir, "A.qcow2"), Path.Combine(dir, "B.qcow2"), Path.Combine(dir, "C.qcow2"));
        CopyFixture(variant, dir);
        var journal = Path.Combine(dir, "journal.db");
        var settings = new EngineSettings { StorageRoots = [dir], BatchBytes = 256 * 1024, CheckpointBytes = 512 * 1024, SnapshotInterval = 4 };
        var oldRows = RowCount(journal);

        await using var node = EngineNode.Start(journal, settings);
        // The first answer waits for the recovery of the old journal; on a loaded machine that is more than an Ask's 15 s.
        var show = EngineFixture.Expect<DiskReplies.DiskInfo>(await node.Manager.Ask<object>(new DiskCommands.Show(Disk), TimeSpan.FromSeconds(90)));
        Assert.Equal([c, b, a], show.Chain);
        var job = Assert.Single(show.Jobs);
        Assert.Equal(("paused", true), (job.Status, job.Paused));
        Assert.True(job.Offset >= 2 * MiB, $"the old checkpoint was lost: offset {job.Offset}");
        Assert.Equal(1 * MiB, job.Speed);

        await node.AskOk<DiskReplies.JobList>(new DiskCommands.JobVerbCommand(Disk, new JobId("vm1"), JobVerb.SetSpeed, 0));
        await node.AskOk<DiskReplies.JobList>(new DiskCommands.JobVerbCommand(Disk, new JobId("vm1"), JobVerb.Resume));
        var completed = await node.WaitForEvent<BlockJobCompletedEvent>(e => e.Device == "vm1", TimeSpan.FromSeconds(60));

        Assert.Null(completed.Error);
        Assert.Equal([c], (await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(Disk))).Chain);
        await node.StopAsync();
        Assert.Null(ImageAssert.BackingFileOf(c));
        ImageAssert.CheckClean(c);
        AssertGuestView(c);
        AssertNewRowsAreWire(journal, oldRows);
    }

    /// <summary>A (0x11 over 0-5M) &lt;- B (0x22 over 1M-3M) &lt;- C (0x33 over 6M-6.5M), 8 MiB: what the guest saw before the stream.</summary>
    private static void AssertGuestView(string top)
    {
        var expected = new byte[8 * MiB];
        expected.AsSpan(0, (int)(5 * MiB)).Fill(0x11);
        expected.AsSpan((int)MiB, (int)(2 * MiB)).Fill(0x22);
        expected.AsSpan((int)(6 * MiB), (int)(MiB / 2)).Fill(0x33);
        Assert.True(expected.AsSpan().SequenceEqual(EngineFixture.GuestView(top)), "the guest view changed across the upgrade and the stream");
    }

    private static void CopyFixture(string variant, string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "upgrade-001843f", variant);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }
    }

    private static long RowCount(string journal)
    {
        using var connection = JournalRows.Open(journal);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT max(ordering) FROM journal";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Every journal row and snapshot written by today's engine: our serializer's id, a wire name, no type names.</summary>
    private static void AssertNewRowsAreWire(string journal, long oldRows)
    {
        using var connection = JournalRows.Open(journal);
        var rows = JournalRows.Read(connection, $"SELECT identifier, manifest, message FROM journal WHERE ordering > {oldRows} AND {JournalRows.NotSharding}");
        Assert.NotEmpty(rows);
        foreach (var (serializer, manifest, text) in rows)
        {
            Assert.True(serializer == WireJsonSerializer.Id, $"row with manifest '{manifest}' by serializer {serializer}: {text}");
            Assert.NotNull(WireNames.TypeOf(manifest));
            JournalRows.AssertNoTypeNames(text, manifest);
        }
    }
}
