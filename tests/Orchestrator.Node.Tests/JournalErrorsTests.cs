using Microsoft.Data.Sqlite;
using Npgsql;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Node.Tests;

/// <summary>Which database failures the journal waits out (<see cref="JournalErrors"/>), with the clients' own exceptions.</summary>
public sealed class JournalErrorsTests
{
    [Fact]
    public async Task A_PostgreSQL_server_that_refuses_connections_is_an_outage()
    {
        var port = NodeProcess.FreePort();
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=orch;Password=orch;Timeout=3");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenAsync());
        Assert.True(JournalErrors.IsOutage(new AggregateException(error)), $"{error.GetType().Name}: {error.Message}");
    }

    [Theory]
    [InlineData("57P01", true)] // admin shutdown: pg_ctl stop -m fast
    [InlineData("57P03", true)] // cannot connect now: starting or shutting down
    [InlineData("08006", true)] // connection failure
    [InlineData("53100", true)] // disk full
    [InlineData("23505", false)] // unique violation: a real error of the write
    [InlineData("42P01", false)] // undefined table
    public void PostgreSQL_states_of_an_outage_are_waited_out_and_others_are_not(string state, bool outage)
    {
        var error = new PostgresException("message", "FATAL", "FATAL", state);
        Assert.Equal(outage, JournalErrors.IsOutage(error));
        Assert.Equal(state == "23505", JournalErrors.IsAlreadyWritten(new InvalidOperationException("wrapped", error)));
    }

    [Theory]
    [InlineData(5, true)] // BUSY
    [InlineData(13, true)] // FULL: the data folder is full
    [InlineData(10 | (3 << 8), true)] // IOERR_WRITE, an extended code
    [InlineData(19, false)] // CONSTRAINT
    [InlineData(1, false)] // ERROR
    public void SQLite_codes_of_an_outage_are_waited_out_and_others_are_not(int code, bool outage)
    {
        Assert.Equal(outage, JournalErrors.IsOutage(new SqliteException("message", code)));
    }

    [Fact]
    public void A_serialization_error_is_not_an_outage() =>
        Assert.False(JournalErrors.IsOutage(new System.Runtime.Serialization.SerializationException("no serializer")));
}
