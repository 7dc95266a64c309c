using Microsoft.Data.Sqlite;
using Xunit;

namespace Orchestrator.Engine.Tests.Persistence;

/// <summary>Reads an Akka.Persistence.Sql SQLite journal's rows as text, to check what was written (no node running).</summary>
internal static class JournalRows
{
    /// <summary>
    /// A WHERE clause keeping our streams (disk-..., registry-...) and leaving out cluster sharding's remembered shards
    /// and entities, which Akka's own serializers write (sharding's protobuf, shard ids as plain strings).
    /// </summary>
    public const string NotSharding = "(persistence_id LIKE 'disk-%' OR persistence_id LIKE 'registry-%')";

    public static SqliteConnection Open(string path)
    {
        // No pooling: the file must be closed before a node opens it again.
        var connection = new SqliteConnection(SqliteJournalConfig.ConnectionString(path));
        connection.Open();
        return connection;
    }

    /// <summary>(serializer id, manifest, payload as UTF-8 text) of each row the query selects, in that column order.</summary>
    public static List<(int Serializer, string Manifest, string Text)> Read(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<(int, string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt32(0), reader.IsDBNull(1) ? "" : reader.GetString(1),
                System.Text.Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(2))));
        }

        return rows;
    }

    /// <summary>Neither a namespace of ours nor an assembly-qualified name anywhere in the row.</summary>
    public static void AssertNoTypeNames(string text, string manifest)
    {
        foreach (var forbidden in new[] { "Orchestrator.", ", Version=", "System.", "$type" })
        {
            Assert.False(text.Contains(forbidden, StringComparison.Ordinal) || manifest.Contains(forbidden, StringComparison.Ordinal),
                $"a row ({manifest}) holds '{forbidden}': {text}");
        }
    }
}
