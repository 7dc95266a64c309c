using Microsoft.Data.Sqlite;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// The journal's connection string, replaying at SQLite level what made the journal's delete fail at random: the
/// snapshot store's connection reads the schema before the journal table exists, the journal creates its table on
/// another connection, and the delete's connection reads the journal while the snapshot store commits.
/// </summary>
public sealed class SqliteJournalConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new("sqlite");

    [Fact]
    public async Task A_connection_sees_a_table_created_on_another_even_while_a_writer_commits()
    {
        var connectionString = SqliteJournalConfig.ConnectionString(_dir.Combine("journal.db"));
        var snapshotStore = Open(connectionString);
        Execute(snapshotStore, "CREATE TABLE snapshot (n INTEGER)");
        using var journal = Open(connectionString);
        Execute(journal, "CREATE TABLE journal (n INTEGER)");
        Execute(journal, "INSERT INTO journal VALUES (1)");

        // A pool would keep this connection, with its schema of one table, for whoever opens one next.
        snapshotStore.Dispose();

        // The snapshot store deleting the older snapshot, on a connection that is not the pooled one.
        using var writer = Open(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        Execute(writer, "BEGIN EXCLUSIVE");
        Execute(writer, "DELETE FROM snapshot");
        var read = Task.Run(() =>
        {
            using var delete = Open(connectionString);
            using var command = delete.CreateCommand();
            command.CommandText = "SELECT count(*) FROM journal";
            return (long)command.ExecuteScalar()!;
        });
        await Task.Delay(200);
        Execute(writer, "COMMIT");

        // A pooled connection would fail at once with "no such table: journal"; a new one waits for the lock.
        Assert.Equal(1, await read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    public void Dispose() => _dir.Dispose();

    private static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
