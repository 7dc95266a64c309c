using System.Data.Common;
using System.Net.Sockets;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// Which failures of the journal's database are an outage to wait out (the server is down, restarting, unreachable, out
/// of connections or of disk) and which are real errors of the write. Pure: it only reads the exception chain.
/// </summary>
public static class JournalErrors
{
    // SQLite's primary result codes that clear by themselves: BUSY, LOCKED, IOERR, FULL (a full data folder).
    private static readonly HashSet<int> SqliteTransientCodes = [5, 6, 10, 13];

    // PostgreSQL's SQLSTATE classes and codes of an outage: connection exceptions (08), insufficient resources (53:
    // disk full, too many connections), operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03
    // cannot connect now), system errors (58), and the retryable transaction failures 40001 and 40P01.
    private static readonly string[] PostgresTransientStates = ["08", "53", "57P01", "57P02", "57P03", "58", "40001", "40P01"];

    /// <summary>True when <paramref name="error"/> (or what it wraps) says the database is away for now, not that the write is wrong.</summary>
    public static bool IsOutage(Exception error) => Chain(error).Any(IsOutageItself);

    /// <summary>
    /// True when a retried write failed because its rows are already there: the earlier attempt committed, but its
    /// answer was lost with the connection (PostgreSQL's unique violation 23505, SQLite's CONSTRAINT 19). Only asked
    /// after an outage failed that same write, and each persistence id has one writer.
    /// </summary>
    public static bool IsAlreadyWritten(Exception error) => Chain(error).Any(e => e is DbException db
        && (db.SqlState == "23505" || SqliteCode(db) == 19));

    private static bool IsOutageItself(Exception e) => e switch
    {
        SocketException or TimeoutException or IOException => true,
        DbException db when SqliteCode(db) is { } code => SqliteTransientCodes.Contains(code),
        DbException db when db.SqlState is { } state && PostgresTransientStates.Any(state.StartsWith) => true,
        DbException db => db.IsTransient,
        _ => false,
    };

    /// <summary>
    /// SQLite's primary result code of Microsoft.Data.Sqlite's exception (its SqliteErrorCode; ErrorCode is only the
    /// HRESULT), read by name because the engine does not reference that client; null for any other exception.
    /// </summary>
    private static int? SqliteCode(DbException e) =>
        e.GetType().Name == "SqliteException" && e.GetType().GetProperty("SqliteErrorCode")?.GetValue(e) is int code ? code & 0xff : null;

    private static IEnumerable<Exception> Chain(Exception error)
    {
        var pending = new Stack<Exception>([error]);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            yield return e;
            if (e is AggregateException aggregate)
            {
                aggregate.InnerExceptions.ToList().ForEach(pending.Push);
            }
            else if (e.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}
