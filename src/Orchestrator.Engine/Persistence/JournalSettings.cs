using Akka.Configuration;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The journal and snapshot store (Akka.Persistence.Sql) chosen by configuration: SQLite for one node, PostgreSQL for
/// a cluster. One HOCON shape for both, so the engine, the read journal and the sharding stores see the same database.
/// </summary>
public sealed record JournalSettings
{
    /// <summary>linq2db's provider name for Microsoft.Data.Sqlite.</summary>
    public const string SqliteProviderName = "SQLite.MS";

    /// <summary>linq2db's provider name for Npgsql against PostgreSQL 15 and later.</summary>
    public const string PostgresProviderName = "PostgreSQL.15";

    private JournalSettings(JournalProvider provider, string connectionString)
    {
        Provider = provider;
        ConnectionString = connectionString;
    }

    public JournalProvider Provider { get; }

    public string ConnectionString { get; }

    public string ProviderName => Provider == JournalProvider.Sqlite ? SqliteProviderName : PostgresProviderName;

    /// <summary>An SQLite file (see <see cref="SqliteJournalConfig.ConnectionString"/> for why it is not pooled).</summary>
    public static JournalSettings Sqlite(string databasePath)
    {
        if (string.IsNullOrWhiteSpace(databasePath))
        {
            throw new ArgumentException("the SQLite journal needs a file path", nameof(databasePath));
        }

        return new(JournalProvider.Sqlite, SqliteJournalConfig.ConnectionString(databasePath));
    }

    /// <summary>A PostgreSQL database, as an Npgsql connection string (Host=...;Port=...;Database=...;Username=...;Password=...).</summary>
    public static JournalSettings Postgres(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString) || !connectionString.Contains('='))
        {
            throw new ArgumentException(
                $"'{connectionString}' is not a PostgreSQL connection string (for example Host=127.0.0.1;Port=5432;Database=orchestrator;Username=orch;Password=...)",
                nameof(connectionString));
        }

        return new(JournalProvider.Postgres, connectionString.Trim());
    }

    /// <summary>
    /// Reads <c>sqlite:PATH</c> or <c>postgres:CONNECTION-STRING</c> (the node's --journal flag); a bare path means SQLite.
    /// </summary>
    /// <exception cref="ArgumentException">The text names no known provider or its value is empty.</exception>
    public static JournalSettings Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? text[..colon].Trim().ToLowerInvariant() : "";
        var value = colon > 0 ? text[(colon + 1)..] : text;
        return scheme switch
        {
            "postgres" or "postgresql" => Postgres(value),
            "sqlite" => Sqlite(value),
            _ when colon < 0 || text.StartsWith('/') || text.StartsWith('.') => Sqlite(text),
            _ => throw new ArgumentException($"'{scheme}' is not a journal provider: use sqlite:PATH or postgres:CONNECTION-STRING", nameof(text)),
        };
    }

    /// <summary>The connection string with any password replaced, for logs.</summary>
    public string Describe() => Provider == JournalProvider.Sqlite
        ? $"sqlite ({ConnectionString})"
        : $"postgres ({string.Join(';', ConnectionString.Split(';').Select(HidePassword))})";

    /// <summary>
    /// How long an actor's recovery may wait for the store before it fails (Akka's default: 30 s). The first start on a
    /// fresh PostgreSQL database creates the tables and compiles the queries first, which took over 30 s on two loaded
    /// cores; a recovery that fails stops the disk manager, so wait longer rather than give up.
    /// </summary>
    public static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// The write journal's class: Akka.Persistence.Sql's, waiting out an outage of its database
    /// (<see cref="PatientSqlWriteJournal"/>).
    /// </summary>
    public static readonly string WriteJournalClass = $"{typeof(PatientSqlWriteJournal).FullName}, {typeof(PatientSqlWriteJournal).Assembly.GetName().Name}";

    /// <summary>
    /// The settings Akka.Persistence.Sql.Hosting does not take (the node adds them over its WithSqlPersistence): the
    /// recovery timeout, the patient write journal, and a circuit breaker that never opens. Akka's breaker counts the
    /// failed reads of an outage and, once open, fails every write at once without asking the journal, which would stop
    /// the writing actors; the journal's own back-off takes its place. Its call timeout bounds how long one write may
    /// wait for the database (a day); each attempt is bounded by the database client's own timeouts.
    /// </summary>
    public static Config Overrides() => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.sql {
          recovery-event-timeout = {{(int)RecoveryTimeout.TotalSeconds}}s
          class = "{{WriteJournalClass}}"
          circuit-breaker { max-failures = 1000000000, call-timeout = 1d, reset-timeout = 1s }
        }
        """);

    /// <summary>
    /// SQLite reads in deferred transactions. With the default isolation level Microsoft.Data.Sqlite begins every
    /// transaction with BEGIN IMMEDIATE, which takes the database's one write lock, so the plugin's reads (each recovery:
    /// a snapshot, the highest sequence number, the events) queue behind each other and behind every write, and each one
    /// that finds the lock taken sleeps before it tries again: a node restarting with 1,000 disks spent most of its time
    /// there. "read-uncommitted" is the one level it begins with a plain (deferred) BEGIN; without a shared cache
    /// SQLite still reads serializably. Writes keep BEGIN IMMEDIATE. The node sets it with the write-ahead log, in which
    /// reads and the write never wait for each other (Node/Hosting/SqliteJournalFile); bare ActorSystems (tests) keep
    /// the plugin's default.
    /// </summary>
    public static readonly Config SqliteReads = ConfigurationFactory.ParseString("""
        akka.persistence.journal.sql.read-isolation-level = read-uncommitted
        akka.persistence.snapshot-store.sql.read-isolation-level = read-uncommitted
        akka.persistence.query.journal.sql.read-isolation-level = read-uncommitted
        """);

    /// <summary>The Akka.Persistence.Sql HOCON: write journal, read journal (for Akka.Persistence.Query) and snapshot store.</summary>
    public Config ToConfig() => Overrides().WithFallback(ConfigurationFactory.ParseString($$"""
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.sql"
            // Overrides() names the patient subclass of this one.
            sql { {{Plugin("Akka.Persistence.Sql.Journal.SqlWriteJournal")}}, auto-initialize = true }
          }
          query.journal.sql { {{Plugin("Akka.Persistence.Sql.Query.SqlReadJournalProvider")}} }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.sql"
            sql { {{Plugin("Akka.Persistence.Sql.Snapshot.SqlSnapshotStore")}}, auto-initialize = true }
          }
        }
        """));

    /// <summary>One plugin's class and its database: the same store for all three.</summary>
    private string Plugin(string type) =>
        $"class = \"{type}, Akka.Persistence.Sql\", connection-string = {Quote(ConnectionString)}, provider-name = \"{ProviderName}\"";

    private static string HidePassword(string part) =>
        part.TrimStart().StartsWith("Password", StringComparison.OrdinalIgnoreCase) ? "Password=***" : part;

    /// <summary>A HOCON string literal: connection strings hold ';', '=' and may hold quotes or backslashes.</summary>
    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
