using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Persistence;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests.Persistence;

/// <summary>After real streams on a real SQLite journal, with snapshots taken on the way, no row names a CLR type.</summary>
public sealed class WireJournalTests() : EngineTestBase(settings => settings with { SnapshotInterval = 5 })
{
    [Fact]
    public async Task The_journal_and_snapshot_tables_hold_no_clr_type_or_assembly_names()
    {
        var chain = BuildChain(Dir, 8 * MiB, seed: 5);
        await Register(new DiskId("vm1"), chain[^1]);
        await Stream(new DiskId("vm1"), new Domain.Disks.StreamRequest { Base = chain[0] });
        await WaitCompleted("vm1");
        await Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Snapshot(new DiskId("vm1"), PathOf("E.qcow2")));
        await Stream(new DiskId("vm1"), new Domain.Disks.StreamRequest());
        await WaitCompleted("vm1");
        await Node.StopAsync();

        using var connection = JournalRows.Open(JournalPath);
        var events = JournalRows.Read(connection, $"SELECT identifier, manifest, message FROM journal WHERE {JournalRows.NotSharding}");
        var snapshots = JournalRows.Read(connection, "SELECT serializer_id, manifest, snapshot FROM snapshot");

        Assert.NotEmpty(events);
        Assert.NotEmpty(snapshots);
        Assert.Contains(snapshots, s => s.Manifest == "disk.snapshot.v1");
        foreach (var (serializer, manifest, text) in events.Concat(snapshots))
        {
            Assert.Equal(WireJsonSerializer.Id, serializer);
            JournalRows.AssertNoTypeNames(text, manifest);
        }

        // The raw file too: nothing outside the rows read above (deleted rows, free pages) carries a type name.
        var raw = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(JournalPath));
        Assert.DoesNotContain("Orchestrator.", raw, StringComparison.Ordinal);
        Assert.DoesNotContain(", Version=", raw, StringComparison.Ordinal);
    }
}
