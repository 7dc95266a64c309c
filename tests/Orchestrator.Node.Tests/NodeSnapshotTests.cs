using Microsoft.Data.Sqlite;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The node's persistence (Akka.Hosting) keeps snapshots in journal.db beside the journal: with --snapshot-interval 5
/// a stream leaves one snapshot of the disk and no journal rows before it, and a restarted node recovers from it.
/// </summary>
public sealed class NodeSnapshotTests
{
    private static readonly string[] Args = ["--snapshot-interval", "5", "--batch-size", "1M", "--checkpoint-size", "1M"];

    [Fact]
    public async Task Snapshots_land_in_the_journal_database_and_a_restarted_node_recovers_from_them()
    {
        using var folder = new TempDirectory("node-snapshots");
        string top;
        string @base;
        string guest;
        await using (var node = await NodeProcess.StartAsync(folder.Path, Args))
        {
            (@base, _, top) = Chains.Create(node.StorageRoot, "snap");
            guest = node.Image("snap-guest.raw");
            QemuTools.ConvertToRaw(top, guest);
            (await node.CliAsync("disk", "add", "snap", top)).EnsureSuccess();
            var stream = await node.CliAsync("stream", "snap", "--base", "snap-base.qcow2", "--wait");
            Assert.True(stream.ExitCode == 0, $"stream --wait failed:\n{stream.StdErr}\nnode:\n{node.Output}");

            // The delete after the last snapshot is asynchronous: wait for it before stopping the node.
            var journal = Path.Combine(node.DataDirectory, NodePaths.JournalFile);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            (List<long> Snapshots, List<long> Live) rows;
            while (!Compacted(rows = Read(journal, "disk-snap")))
            {
                Assert.True(DateTime.UtcNow < deadline,
                    $"journal not compacted: snapshots [{string.Join(",", rows.Snapshots)}], live events [{string.Join(",", rows.Live)}]");
                await Task.Delay(100);
            }

            Assert.True(rows.Snapshots[0] >= 10, $"a 64 MiB stream with 1 MiB checkpoints persists more than 10 events; snapshot at {rows.Snapshots[0]}");
        }

        await using (var node = await NodeProcess.StartAsync(folder.Path, Args))
        {
            var show = Json.Parse((await node.CliAsync("disk", "show", "snap", "--output", "json")).EnsureSuccess().StdOut);
            Assert.Equal([top, @base], show.GetProperty("chain").EnumerateArray().Select(p => p.GetString()));
            Assert.Equal("[]", (await node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut.Trim());

            var full = await node.CliAsync("stream", "snap", "--wait");
            Assert.True(full.ExitCode == 0, $"second stream failed:\n{full.StdErr}\nnode:\n{node.Output}");
            Assert.Equal(0, QemuTools.Check(top).ExitCode);
            Assert.Equal(0, QemuTools.Compare(top, guest, fmtB: "raw").ExitCode);
        }
    }

    /// <summary>One snapshot, and every event still readable (not marked deleted) comes after it.</summary>
    // Compacted, and up to date: fewer live events than the snapshot interval (5) follow the one snapshot. Without the
    // last condition, the moment between the snapshot at 5 being compacted and the one at 10 being saved also passed.
    private static bool Compacted((List<long> Snapshots, List<long> Live) rows) =>
        rows.Snapshots.Count == 1 && rows.Live.All(seq => seq > rows.Snapshots[0]) && rows.Live.Count < 5;

    private static (List<long> Snapshots, List<long> Live) Read(string journalPath, string persistenceId)
    {
        try
        {
            using var connection = new SqliteConnection($"Data Source={journalPath};Mode=ReadOnly;Pooling=False");
            connection.Open();
            return (Column(connection, "SELECT sequence_number FROM snapshot WHERE persistence_id = $id ORDER BY 1", persistenceId),
                Column(connection, "SELECT sequence_number FROM journal WHERE persistence_id = $id AND deleted = 0 ORDER BY 1", persistenceId));
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6)
        {
            // The node is writing (SQLITE_BUSY, SQLITE_LOCKED): read again.
            return ([], []);
        }
    }

    private static List<long> Column(SqliteConnection connection, string sql, string persistenceId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        using var reader = command.ExecuteReader();
        var values = new List<long>();
        while (reader.Read())
        {
            values.Add(reader.GetInt64(0));
        }

        return values;
    }
}
