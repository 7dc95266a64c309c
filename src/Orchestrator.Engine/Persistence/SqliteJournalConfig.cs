using Akka.Configuration;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Engine;

/// <summary>
/// The Akka.Persistence.Sql HOCON for an embedded SQLite journal and snapshot store, for processes that build an
/// ActorSystem without Akka.Hosting (tests, benchmarks), with the wire serializer bound. The node configures the same
/// store through Akka.Hosting; <see cref="JournalSettings"/> generalises it to PostgreSQL.
/// </summary>
public static class SqliteJournalConfig
{
    /// <summary>
    /// The connection string of the SQLite journal and snapshot store, for this HOCON and the node's Akka.Hosting alike.
    /// Without pooling: the journal and the snapshot store each create their table at start, at the same time, through
    /// one pool (one connection string). A pooled connection keeps the schema it last read; if it read it before the
    /// journal table existed, SQLite re-reads it only when it can take a read lock, so when the journal's delete gets
    /// that connection while another one commits (the snapshot store deleting the older snapshot), it fails with "no
    /// such table: journal", an error Microsoft.Data.Sqlite does not retry as it does "database is locked". A new
    /// connection reads the schema as it is, or waits for the lock.
    /// </summary>
    public static string ConnectionString(string databasePath) => $"Data Source={databasePath};Pooling=False";

    /// <summary>The SQLite journal's HOCON with a log level and the wire serializer; the same shape as <see cref="JournalSettings.ToConfig"/> for PostgreSQL.</summary>
    public static Config For(string databasePath, string logLevel = "WARNING") =>
        ConfigurationFactory.ParseString($"akka.loglevel = {logLevel}").WithFallback(JournalSettings.Sqlite(databasePath).ToConfig())
            .WithFallback(Persistence.WireSerialization.Config);
}
