using Microsoft.Data.Sqlite;
using Orchestrator.Engine.Persistence;
using Orchestrator.Node.Hosting;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The node's SQLite journal in write-ahead-log mode, and reads in deferred transactions: a recovery's read is not held
/// back by a write in progress, which in the default rollback mode and with BEGIN IMMEDIATE it was.
/// </summary>
public sealed class SqliteJournalFileTests : IDisposable
{
    private readonly TempDirectory _dir = new("journal-file");

    [Fact]
    public void The_journal_is_switched_to_a_write_ahead_log_that_stays_while_the_node_runs()
    {
        var journal = JournalSettings.Sqlite(_dir.Combine("journal.db"));
        using (SqliteJournalFile.Open(journal))
        {
            Assert.Equal("wal", Scalar(journal.ConnectionString, "PRAGMA journal_mode"));

            // Another connection opening and closing (as every query of the plugin does) leaves the log in place.
            Scalar(journal.ConnectionString, "CREATE TABLE journal (n INTEGER)");
            Assert.True(File.Exists(_dir.Combine("journal.db-wal")));
        }

        // Stored in the file: a node started on it again, or anything else opening it, finds it in WAL mode.
        Assert.Equal("wal", Scalar(journal.ConnectionString, "PRAGMA journal_mode"));
    }

    [Fact]
    public void The_plugin_connects_pooled_to_the_same_file_and_a_stop_folds_the_log_back()
    {
        var journal = JournalSettings.Sqlite(_dir.Combine("journal.db"));
        using (var file = SqliteJournalFile.Open(journal))
        {
            var pooled = new SqliteConnectionStringBuilder(file.ConnectionString);
            Assert.True(pooled.Pooling);
            Assert.Equal(_dir.Combine("journal.db"), pooled.DataSource);
            Scalar(file.ConnectionString, "CREATE TABLE journal (n INTEGER); INSERT INTO journal VALUES (1)");
        }

        // Every connection closed: the log was checkpointed into journal.db and removed.
        Assert.False(File.Exists(_dir.Combine("journal.db-wal")));
        Assert.Equal("1", Scalar(journal.ConnectionString, "SELECT count(*) FROM journal"));
    }

    [Fact]
    public async Task A_read_in_a_deferred_transaction_goes_on_while_another_connection_writes()
    {
        var journal = JournalSettings.Sqlite(_dir.Combine("journal.db"));
        using var file = SqliteJournalFile.Open(journal);
        Scalar(journal.ConnectionString, "CREATE TABLE journal (n INTEGER); INSERT INTO journal VALUES (1)");

        using var writer = new SqliteConnection(journal.ConnectionString);
        writer.Open();
        using var write = writer.BeginTransaction();
        using (var insert = writer.CreateCommand())
        {
            insert.Transaction = write;
            insert.CommandText = "INSERT INTO journal VALUES (2)";
            insert.ExecuteNonQuery();
        }

        // The plugin's reads at read-isolation-level = read-uncommitted: a plain BEGIN, which takes no write lock.
        var read = Task.Run(() =>
        {
            using var reader = new SqliteConnection(journal.ConnectionString);
            reader.Open();
            using var transaction = reader.BeginTransaction(System.Data.IsolationLevel.ReadUncommitted);
            using var count = reader.CreateCommand();
            count.Transaction = transaction;
            count.CommandText = "SELECT count(*) FROM journal";
            return (long)count.ExecuteScalar()!;
        });

        // Microsoft.Data.Sqlite's default: BEGIN IMMEDIATE, which waits for the writer's lock (the plugin's reads before).
        var immediate = Task.Run(() =>
        {
            using var reader = new SqliteConnection(journal.ConnectionString);
            reader.Open();
            using var transaction = reader.BeginTransaction();
            using var count = reader.CreateCommand();
            count.Transaction = transaction;
            count.CommandText = "SELECT count(*) FROM journal";
            return (long)count.ExecuteScalar()!;
        });

        // The deferred read sees the last commit, not the write in progress, and does not wait for it.
        Assert.Equal(1L, await read.WaitAsync(TimeSpan.FromSeconds(5)));
        await Task.Delay(500);
        Assert.False(immediate.IsCompleted);
        write.Commit();
        Assert.Equal(2L, await immediate.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void The_plugin_reads_sqlite_in_deferred_transactions_and_postgres_as_before()
    {
        using var file = SqliteJournalFile.Open(JournalSettings.Sqlite(_dir.Combine("journal.db")));
        var sqlite = file.Overrides;
        foreach (var plugin in new[] { "journal.sql", "snapshot-store.sql", "query.journal.sql" })
        {
            Assert.Equal("read-uncommitted", sqlite.GetString($"akka.persistence.{plugin}.read-isolation-level"));
        }

        using var pg = SqliteJournalFile.Open(JournalSettings.Postgres("Host=db;Username=orch;Password=x"));
        Assert.False(pg.Overrides.HasPath("akka.persistence.journal.sql.read-isolation-level"));
        Assert.Equal("1d", pg.Overrides.GetString("akka.persistence.journal.sql.circuit-breaker.call-timeout"));
        Assert.Equal("1d", sqlite.GetString("akka.persistence.journal.sql.circuit-breaker.call-timeout"));
    }

    [Fact]
    public void A_journal_that_cannot_be_opened_is_an_io_error_naming_it()
    {
        var journal = JournalSettings.Sqlite(Path.Combine(_dir.Path, "missing-folder", "journal.db"));

        var e = Assert.Throws<IOException>(() => SqliteJournalFile.Open(journal));

        Assert.Contains("missing-folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_postgres_journal_is_left_alone()
    {
        var postgres = JournalSettings.Postgres("Host=127.0.0.1;Port=1;Username=orch;Password=x");
        using var file = SqliteJournalFile.Open(postgres);
        Assert.Equal(postgres.ConnectionString, file.ConnectionString);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    public void Dispose() => _dir.Dispose();

    private static string? Scalar(string connectionString, string sql)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }
}
