using Microsoft.Data.Sqlite;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Node.Hosting;

/// <summary>
/// Keeps the node's SQLite journal in write-ahead-log mode, open for as long as the node runs. In SQLite's default
/// (rollback journal) mode a commit waits until no connection reads, and no read starts while a commit waits, so the
/// recoveries of many disks at a restart and the writes beside them took turns, each loser sleeping before it tried
/// again. With a write-ahead log, reads never wait for a write nor a write for reads. The mode is stored in the
/// database file; every commit is still synced to disk (synchronous stays FULL). One connection stays open so that the
/// log is not checkpointed and removed each time the last other one closes. The folder holds journal.db-wal and
/// journal.db-shm beside journal.db while the node runs (and after a crash): they are part of the journal, so copy all
/// three, and only while the node is stopped.
/// </summary>
public sealed class SqliteJournalFile : IDisposable
{
    private readonly SqliteConnection? _connection;

    private SqliteJournalFile(SqliteConnection? connection, string connectionString)
    {
        _connection = connection;
        ConnectionString = connectionString;
    }

    /// <summary>
    /// What the journal's plugin connects with. For SQLite, its connections are pooled: each opened connection otherwise
    /// read and parsed the schema again, three times per disk at a restart (about 2 s of a 1,000-disk restart). The
    /// tests' and tools' unpooled string (<see cref="Engine.SqliteJournalConfig.ConnectionString"/>) is there for the
    /// rollback mode, where a pooled connection could keep a schema from before the journal table existed and fail with
    /// "no such table" while another connection wrote; in WAL mode it can always read the newer schema.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>
    /// The plugin settings the node adds over Akka.Persistence.Sql.Hosting's (<see cref="JournalSettings.Overrides"/>),
    /// and for SQLite its reads in deferred transactions (<see cref="JournalSettings.SqliteReads"/>).
    /// </summary>
    public Akka.Configuration.Config Overrides => _connection is null
        ? JournalSettings.Overrides()
        : JournalSettings.SqliteReads.WithFallback(JournalSettings.Overrides());

    /// <summary>
    /// Opens the journal of <paramref name="journal"/> in write-ahead-log mode when it is SQLite (creating the file if
    /// needed); for PostgreSQL it does nothing.
    /// </summary>
    /// <exception cref="IOException">The database cannot be opened or switched (its folder is missing or not writable, or it is not an SQLite file).</exception>
    public static SqliteJournalFile Open(JournalSettings journal)
    {
        if (journal.Provider != JournalProvider.Sqlite)
        {
            return new SqliteJournalFile(null, journal.ConnectionString);
        }

        var connection = new SqliteConnection(journal.ConnectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = command.ExecuteScalar() as string;

            // An in-memory database has no file to log beside, and no other connection to wait for.
            if (mode is not ("wal" or "memory"))
            {
                throw new IOException($"the SQLite journal ({journal.Describe()}) stayed in journal mode '{mode}', not WAL");
            }

            // A first read opens the log: from then on this connection holds the shared lock that keeps it.
            command.CommandText = "SELECT count(*) FROM sqlite_master;";
            command.ExecuteScalar();
            return new SqliteJournalFile(connection, new SqliteConnectionStringBuilder(journal.ConnectionString) { Pooling = true }.ToString());
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new IOException($"the SQLite journal ({journal.Describe()}) could not be opened: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// After the engine stopped: closes the pooled connections and the kept one; the last to close checkpoints the log
    /// into journal.db.
    /// </summary>
    public void Dispose()
    {
        if (_connection is null)
        {
            return;
        }

        SqliteConnection.ClearAllPools();
        _connection.Dispose();
    }
}
