using Akka.Configuration;

namespace Orchestrator.Engine;

/// <summary>
/// The Akka.Persistence.Sql HOCON for an embedded SQLite journal and snapshot store, for processes that build an
/// ActorSystem without Akka.Hosting (tests, benchmarks). The node configures the same store through Akka.Hosting.
/// </summary>
public static class SqliteJournalConfig
{
    public static Config For(string databasePath, string logLevel = "WARNING") => ConfigurationFactory.ParseString($$"""
        akka.loglevel = {{logLevel}}
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.sql"
            sql {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              connection-string = "Data Source={{databasePath}}"
              provider-name = "SQLite.MS"
              auto-initialize = true
            }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.sql"
            sql {
              class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
              connection-string = "Data Source={{databasePath}}"
              provider-name = "SQLite.MS"
              auto-initialize = true
            }
          }
        }
        """);
}
