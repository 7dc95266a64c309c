using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// At a restart, a disk whose images cannot be opened, or now lead outside the storage roots, is not opened: it is
/// quarantined with the reason (show, list, an event) and the node serves every other disk.
/// </summary>
public sealed class QuarantineTests : EngineTestBase
{
    [Fact]
    public async Task A_disk_whose_base_was_moved_away_is_quarantined_and_the_others_serve()
    {
        var (healthy, broken) = await TwoDisks();
        await Node.StopAsync();
        File.Move(broken[0], PathOf("moved-away.qcow2"));

        await RestartAsync();
        await AssertQuarantined("broken", Path.GetFileName(broken[0]));
        await AssertServes(healthy);
    }

    [Fact]
    public async Task A_disk_whose_image_became_a_symlink_outside_the_roots_is_quarantined_and_the_others_serve()
    {
        var (healthy, broken) = await TwoDisks();
        await Node.StopAsync();
        using var outside = new TempDirectory("outside");
        var foreign = outside.Combine("foreign.qcow2");
        File.Move(broken[0], foreign);
        File.CreateSymbolicLink(broken[0], foreign);

        await RestartAsync();
        var info = await AssertQuarantined("broken", "outside the storage roots");
        Assert.Contains(Path.GetFileName(broken[0]), info.Quarantine, StringComparison.Ordinal);
        await AssertServes(healthy);

        // A quarantined disk can be unregistered; its images were never touched.
        await Node.AskOk<DiskReplies.Done>(new DiskCommands.Unregister(new DiskId("broken")));
        Assert.Equal(["healthy"], (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks.Select(d => d.Disk));
        ImageAssert.CheckClean(foreign);
    }

    [Fact]
    public async Task A_disk_whose_base_became_a_fifo_is_quarantined_at_once_and_the_others_serve()
    {
        var (healthy, broken) = await TwoDisks();
        await Node.StopAsync();
        File.Move(broken[0], PathOf("moved-away.qcow2"));
        ProcessRunner.Run("mkfifo", [broken[0]]).EnsureSuccess();

        // Nobody ever writes the FIFO: an open that waited on it would never come back.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await RestartAsync();
        await AssertQuarantined("broken", "not a regular file");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the restart took {clock.Elapsed}");
        await AssertServes(healthy);
    }

    [Fact]
    public async Task A_disk_whose_journal_holds_an_entry_that_does_not_deserialize_is_quarantined_and_the_others_serve()
    {
        var (healthy, _) = await TwoDisks();
        await Node.StopAsync();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={JournalPath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE journal SET message = $garbage WHERE persistence_id = 'disk-broken'";
            command.Parameters.AddWithValue("$garbage", "{ not json"u8.ToArray());
            Assert.True(command.ExecuteNonQuery() > 0, "the disk's journal has no rows to spoil");
        }

        await RestartAsync();
        // A question that reaches the entity while its recovery fails is lost with it; later ones reach the stand-in.
        await WaitUntil(async () =>
        {
            try
            {
                return await Node.Manager.Ask<object>(new DiskCommands.Show(new DiskId("broken")), TimeSpan.FromSeconds(1)) is DiskReplies.DiskInfo;
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                return false;
            }
        }, "the quarantined disk to show");
        var info = await Show(new DiskId("broken"));
        Assert.Equal(DiskStates.Quarantined, info.State);
        Assert.Contains("journal could not be replayed", info.Quarantine, StringComparison.Ordinal);
        var entry = (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks.Single(d => d.Disk == "broken");
        Assert.Equal(DiskStates.Quarantined, entry.State);
        Assert.Contains(Node.RunEvents().OfType<DiskQuarantinedEvent>(), e => e.Device == "broken");
        Assert.Equal("wrong-state", (await Node.AskRefused(new DiskCommands.Register(new DiskId("broken"), healthy[^1]))).Error.Code);
        await AssertServes(healthy);
    }

    /// <summary>
    /// The poison of issue 9 found in a journal (written before the id rule, or by hand): the registry and the disk's own
    /// journal hold the id "broken\n". Recovery goes on: that disk is quarantined with the reason and opens nothing, the
    /// others serve.
    /// </summary>
    [Fact]
    public async Task A_disk_whose_journal_holds_an_id_the_rule_refuses_is_quarantined_and_the_others_serve()
    {
        var (healthy, poisoned) = await TwoDisks();
        await Node.StopAsync();
        using (var connection = Persistence.JournalRows.Open(JournalPath))
        {
            // Every mention of the id, in the disk's rows and in the registry's, becomes "broken\n" (JSON-escaped).
            using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE journal SET persistence_id = replace(persistence_id, 'broken', 'broken' || char(10)),
                    message = CAST(replace(CAST(message AS TEXT), '"broken"', '"broken\n"') AS BLOB)
                WHERE persistence_id = 'disk-broken' OR CAST(message AS TEXT) LIKE '%"broken"%'
                """;
            Assert.True(command.ExecuteNonQuery() >= 2, "the journal has no rows naming the disk");
        }

        await RestartAsync();
        var bad = new DiskId("broken\n");
        await WaitUntil(async () => (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks
            .Any(d => d.Disk == bad.Value && d.State == DiskStates.Quarantined), "the disk with the poison id to be quarantined");
        var entry = (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks.Single(d => d.Disk == bad.Value);
        Assert.Contains("'id'", entry.Quarantine, StringComparison.Ordinal);
        Assert.Contains(Node.RunEvents().OfType<DiskQuarantinedEvent>(), e => e.Device == bad.Value);
        Assert.Null(Node.Disks.Find(bad));
        await AssertServes(healthy);

        // It holds no image: the same chain registers again under a well-formed id.
        await Register(new DiskId("mended"), poisoned[^1]);
        Assert.NotNull(await Node.LiveDisk(new DiskId("mended")));
        await Node.StopAsync();
        ImageAssert.CheckClean(poisoned[^1]);
    }

    private async Task<(IReadOnlyList<string> Healthy, IReadOnlyList<string> Broken)> TwoDisks()
    {
        Directory.CreateDirectory(PathOf("h"));
        Directory.CreateDirectory(PathOf("b"));
        var healthy = BuildChain(PathOf("h"), 8 * MiB, seed: 1, layers: 2);
        var broken = BuildChain(PathOf("b"), 8 * MiB, seed: 2, layers: 2);
        await Register(new DiskId("healthy"), healthy[^1]);
        await Register(new DiskId("broken"), broken[^1]);
        return (healthy, broken);
    }

    private async Task<DiskReplies.DiskInfo> AssertQuarantined(string disk, string reasonPart)
    {
        var info = await Show(new DiskId(disk));
        Assert.Equal(DiskStates.Quarantined, info.State);
        Assert.Contains(reasonPart, info.Quarantine, StringComparison.Ordinal);

        var entry = (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks.Single(d => d.Disk == disk);
        Assert.Equal(DiskStates.Quarantined, entry.State);
        Assert.Equal(info.Quarantine, entry.Quarantine);

        var quarantined = Node.RunEvents().OfType<DiskQuarantinedEvent>().Single();
        Assert.Equal(disk, quarantined.Device);
        Assert.Equal(info.Quarantine, quarantined.Reason);

        var refused = await Node.AskRefused(new DiskCommands.Stream(new DiskId(disk), new Domain.Disks.StreamRequest()));
        Assert.Equal("wrong-state", refused.Error.Code);
        Assert.Null(Node.Disks.Find(new DiskId(disk)));
        return info;
    }

    private async Task AssertServes(IReadOnlyList<string> healthy)
    {
        var info = await Show(new DiskId("healthy"));
        Assert.Equal(DiskStates.Ready, info.State);
        var live = await Node.LiveDisk(new DiskId("healthy"));
        var buffer = new byte[4096];
        live.Read(0, buffer);
        await Stream(new DiskId("healthy"), new Domain.Disks.StreamRequest());
        Assert.Null((await WaitCompleted("healthy")).Error);
        Assert.Null(ImageAssert.BackingFileOf(healthy[^1]));
    }
}
