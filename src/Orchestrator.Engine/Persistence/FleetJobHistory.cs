using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The jobs that have ended on every host of the fleet, read from the journal (Akka.Persistence.Query) rather than
/// asked of the hosts: each host's event log is its own stream, <c>events-{host}</c>, in the database the nodes
/// share, so a host that is down still has its history read, and one node (SQLite) reads its own.
/// </summary>
public static class FleetJobHistory
{
    private const string Prefix = "events-";

    /// <summary>Every host's finished jobs, each with its host, oldest end first.</summary>
    public static async Task<IReadOnlyList<(string Host, FinishedJob Job)>> ReadAsync(ActorSystem system, CancellationToken cancel)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var materializer = system.Materializer();
        var streams = await journal.CurrentPersistenceIds().Where(id => id.StartsWith(Prefix, StringComparison.Ordinal))
            .RunWith(Sink.Seq<string>(), materializer).WaitAsync(cancel).ConfigureAwait(false);
        var hosts = await Task.WhenAll(streams.Select(async stream =>
        {
            var events = await journal.CurrentEventsByPersistenceId(stream, 0, long.MaxValue)
                .Where(envelope => envelope.Event is BlockJobEvent)
                .Select(envelope => (BlockJobEvent)envelope.Event with { Sequence = envelope.SequenceNr })
                .RunWith(Sink.Seq<BlockJobEvent>(), materializer).WaitAsync(cancel).ConfigureAwait(false);
            var host = stream[Prefix.Length..];
            return JobHistory.From(events).Select(job => (host, job));
        })).ConfigureAwait(false);
        return [.. hosts.SelectMany(h => h).OrderBy(h => h.job.Ended).ThenBy(h => h.host, StringComparer.Ordinal)];
    }
}
