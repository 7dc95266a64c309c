using Npgsql;

namespace Orchestrator.Testing;

/// <summary>
/// A fresh database on the tests' PostgreSQL (tests/run.sh starts a private instance and exports
/// <see cref="ServerVariable"/>), dropped on dispose unless ORCH_KEEP_TEST_FILES=1. Without the variable a test fails
/// naming what to do; it never skips.
/// </summary>
public sealed class PostgresTestDatabase : IDisposable
{
    public const string ServerVariable = "ORCHESTRATOR_TEST_PG";

    private readonly string _server;

    public PostgresTestDatabase(string prefix = "t")
    {
        _server = ServerConnectionString();
        Name = $"orch_{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 38)].ToLowerInvariant();
        Execute(_server, $"CREATE DATABASE \"{Name}\"");
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = Name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>Npgsql's connection string for this database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string from <see cref="ServerVariable"/>; throws with the fix when it is not set or not answering.</summary>
    public static string ServerConnectionString()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable);
        if (string.IsNullOrWhiteSpace(server))
        {
            throw new InvalidOperationException(
                $"this test needs PostgreSQL: {ServerVariable} is not set. tests/run.sh starts one (Debian package postgresql); by hand: "
                + $"export {ServerVariable}=\"$(cluster-config/postgres.sh start /tmp/orch-pg)\"");
        }

        return server;
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> on this database.</summary>
    public object? Scalar(string sql)
    {
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        if (TempDirectory.KeepFiles)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        Execute(_server, $"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
    }

    private static void Execute(string connectionString, string sql)
    {
        try
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            command.ExecuteNonQuery();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"PostgreSQL at {ServerVariable} ({new NpgsqlConnectionStringBuilder(connectionString) { Password = null }}) failed '{sql}': {e.Message}. "
                + "Is it running? tests/run.sh starts it (cluster-config/postgres.sh).", e);
        }
    }
}
