using Microsoft.Data.Sqlite;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Snapshots bound recovery: with a snapshot every 5 events and a checkpoint every 1 MiB, a stream takes snapshots as
/// it goes, the journal rows up to each snapshot are deleted (read from the SQLite file itself), and a restarted node
/// recovers the disk, its chain and its jobs from the snapshot and the events after it, and resumes the job.
/// </summary>
public sealed class SnapshotRecoveryTests : EngineTestBase
{
    private const int Interval = 5;
    private static readonly DiskId Disk = new("vm1");

    public SnapshotRecoveryTests()
        : base(s => s with { CheckpointBytes = 1 * MiB, SnapshotInterval = Interval })
    {
    }

    [Fact]
    public async Task Stream_takes_snapshots_deletes_the_journal_up_to_them_and_resumes_from_them_after_restarts()
    {
        var chain = BuildDenseChain(Dir, 32 * MiB, seed: 91);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0], Speed = 4 * MiB });
        await WaitForOffset(Disk, "vm1", 12 * MiB);
        await Verb(Disk, "vm1", JobVerb.Pause);
        await WaitUntil(async () => await QueryLive(Disk, "vm1") is { Status: "paused", Busy: false }, "the job to stop copying");
        var paused = await QueryLive(Disk, "vm1");

        // At least 12 checkpoints and the job's status changes: two snapshots or more; only the newest is kept, and the
        // journal rows up to it are deleted.
        var journal = await WaitForCompaction("disk-vm1");
        Assert.True(journal.Snapshot >= 3 * Interval, $"newest snapshot at event {journal.Snapshot}; expected >= {3 * Interval}");

        await RestartAsync();

        // The registration and the job's creation are gone from the journal: only the snapshot can have brought them back.
        var info = await Show(Disk);
        Assert.Equal(chain.Reverse(), info.Chain);
        var recovered = await QueryLive(Disk, "vm1");
        Assert.Equal("paused", recovered.Status);
        Assert.True(recovered.Paused);
        Assert.Equal(4 * MiB, recovered.Speed);
        Assert.Equal(paused.Len, recovered.Len);
        var floor = paused.Offset - Settings.CheckpointBytes - Settings.BatchBytes;
        Assert.True(recovered.Offset >= floor && recovered.Offset <= paused.Offset,
            $"recovered offset {recovered.Offset}, paused at {paused.Offset}: the last checkpoint is at most one checkpoint behind");

        // Resumed, it goes on from its checkpoint; a restart while it runs resumes it again from the newest one.
        await Verb(Disk, "vm1", JobVerb.Resume);
        var running = await WaitForOffset(Disk, "vm1", recovered.Offset + (4 * MiB));
        await QueryLive(Disk, "vm1");
        await RestartAsync();
        var resumed = await QueryLive(Disk, "vm1");
        Assert.Equal("running", resumed.Status);
        Assert.True(resumed.Offset >= running.Offset - Settings.CheckpointBytes - Settings.BatchBytes,
            $"offset after the second restart {resumed.Offset}, seen {running.Offset} before it");

        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        var completed = await WaitCompleted("vm1");
        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    [Fact]
    public async Task Disk_registry_recovers_its_disks_from_its_snapshot()
    {
        var names = Enumerable.Range(1, Interval + 1).Select(i => $"d{i}").ToList();
        foreach (var name in names)
        {
            var disk = BuildChain(Dir, 1 * MiB, seed: 92, layers: 2, prefix: name + "-");
            await Register(new DiskId(name), disk[^1]);
        }

        // The import of the (absent) old manager's journal, six claims (a snapshot after the fourth), then the
        // release the disk actor tells the registry.
        await Node.AskOk<DiskReplies.Done>(new DiskCommands.Unregister(new DiskId("d1")));
        var journal = await WaitForCompaction(DiskRegistryActor.PersistenceIdOf(EngineNode.DefaultName), lastEvent: Interval + 3);
        Assert.Equal(Interval, journal.Snapshot);

        await RestartAsync();

        var list = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Equal(names.Skip(1), list.Disks.Select(d => d.Disk));
        var refused = await Node.AskRefused(new DiskCommands.Show(new DiskId("d1")));
        Assert.Equal("not-found", refused.Error.Code);
    }

    [Fact]
    public async Task Failed_snapshots_are_not_fatal_and_leave_the_journal_whole()
    {
        await RestartAsync(FailingSnapshotStore.Config);
        var chain = BuildDenseChain(Dir, 8 * MiB, seed: 93);
        var top = chain[^1];
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(Disk, top);
        await Stream(Disk, new StreamRequest { Base = chain[0] });
        Assert.Null((await WaitCompleted("vm1")).Error);

        // The job's 8 checkpoints and its statuses crossed several intervals: saves were tried, failed, and the
        // actor went on; nothing was deleted, so a restart replays the whole journal.
        Assert.Contains(FailingSnapshotStore.SaveAttempts, a => a.PersistenceId == "disk-vm1");
        var journal = JournalRows.Read(JournalPath, "disk-vm1");
        Assert.Empty(journal.Snapshots);
        Assert.True(journal.Events.Count > 2 * Interval, $"journal: {journal}");
        Assert.Equal(Enumerable.Range(1, journal.Events.Count).Select(i => ((long)i, false)), journal.Events);

        await RestartAsync(FailingSnapshotStore.Config);
        Assert.Equal([top, chain[0]], (await Show(Disk)).Chain);
        await Stream(Disk, new StreamRequest { JobId = new JobId("full") });
        Assert.Null((await WaitCompleted("full")).Error);
        Assert.Equal([top], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }

    /// <summary>
    /// Waits until the journal of <paramref name="persistenceId"/> holds exactly one snapshot and no event up to it,
    /// except the one row Akka.Persistence.Sql keeps, marked deleted, to remember the highest sequence number.
    /// </summary>
    private async Task<JournalRows> WaitForCompaction(string persistenceId, long lastEvent = 0)
    {
        JournalRows? rows = null;
        try
        {
            await WaitUntil(() => Task.FromResult((rows = JournalRows.Read(JournalPath, persistenceId)) is { Compacted: true } r
                && r.Events.Max(e => e.Sequence) >= lastEvent), $"{persistenceId} compacted");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last read: snapshots at [{string.Join(",", rows?.Snapshots ?? [])}], events "
                + string.Join(",", rows?.Events.Select(x => $"{x.Sequence}{(x.Deleted ? "d" : "")}") ?? []), e);
        }

        return rows!;
    }

    /// <summary>The rows of one persistent actor in the SQLite journal and snapshot tables.</summary>
    private sealed record JournalRows(IReadOnlyList<long> Snapshots, IReadOnlyList<(long Sequence, bool Deleted)> Events)
    {
        public long Snapshot => Snapshots.Count == 1 ? Snapshots[0] : throw new InvalidOperationException($"snapshots at {string.Join(",", Snapshots)}");

        public bool Compacted =>
            Snapshots.Count == 1
            && Events.All(e => e.Sequence > Snapshots[0] || (e.Sequence == Snapshots[0] && e.Deleted))
            && Events.Count < Interval + 1;

        public static JournalRows Read(string journalPath, string persistenceId)
        {
            try
            {
                using var connection = new SqliteConnection($"Data Source={journalPath};Mode=ReadOnly;Pooling=False");
                connection.Open();
                // The snapshot table appears when a snapshot store first starts: with only the failing store, never.
                var snapshots = HasTable(connection, "snapshot")
                    ? Query(connection, "SELECT sequence_number FROM snapshot WHERE persistence_id = $id ORDER BY 1", persistenceId, r => r.GetInt64(0))
                    : [];
                var events = Query(connection, "SELECT sequence_number, deleted FROM journal WHERE persistence_id = $id ORDER BY 1", persistenceId,
                    r => (r.GetInt64(0), r.GetBoolean(1)));
                return new JournalRows(snapshots, events);
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6)
            {
                // SQLITE_BUSY or SQLITE_LOCKED: the node is writing; the caller polls again.
                return new JournalRows([], []);
            }
        }

        private static bool HasTable(SqliteConnection connection, string table) =>
            Query(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $id", table, r => r.GetInt64(0))[0] > 0;

        private static List<T> Query<T>(SqliteConnection connection, string sql, string persistenceId, Func<SqliteDataReader, T> row)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$id", persistenceId);
            using var reader = command.ExecuteReader();
            var rows = new List<T>();
            while (reader.Read())
            {
                rows.Add(row(reader));
            }

            return rows;
        }

        public override string ToString() =>
            $"snapshots [{string.Join(",", Snapshots)}], events [{string.Join(",", Events.Select(e => e.Deleted ? $"{e.Sequence}(deleted)" : $"{e.Sequence}"))}]";
    }
}
