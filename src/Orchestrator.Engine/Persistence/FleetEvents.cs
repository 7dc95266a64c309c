using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Orchestrator.Domain.Fleet;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The QMP events of every host of the fleet, read from the journal (Akka.Persistence.Query): each host's event log
/// (<c>events-{host}</c>) from just after the <see cref="FleetCursor"/>'s position for that host, merged as they come.
/// Followed, hosts that start logging later are picked up too, and the journal is polled (the read journal's refresh
/// interval); not followed, it ends after the events stored so far.
/// </summary>
public static class FleetEvents
{
    private const string Prefix = "events-";
    private const int MostHostsAtOnce = 1024;

    // How often a follower looks for hosts that started logging since (a new host's first event).
    private static readonly TimeSpan NewHostsEvery = TimeSpan.FromSeconds(2);

    public static async IAsyncEnumerable<(string Host, BlockJobEvent Event)> ReadAsync(ActorSystem system, FleetCursor after, bool follow,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var streams = follow ? NewStreams(journal, system.Materializer()) : journal.CurrentPersistenceIds().Where(IsEventLog);
        var events = streams.MergeMany(MostHostsAtOnce, stream =>
        {
            var host = stream[Prefix.Length..];
            var from = after.After(host) + 1;
            var source = follow ? journal.EventsByPersistenceId(stream, from, long.MaxValue) : journal.CurrentEventsByPersistenceId(stream, from, long.MaxValue);
            return source.Where(envelope => envelope.Event is BlockJobEvent)
                .Select(envelope => (host, (BlockJobEvent)envelope.Event with { Sequence = envelope.SequenceNr }));
        });

        var channel = Channel.CreateUnbounded<(string, BlockJobEvent)>(new UnboundedChannelOptions { SingleReader = true });
        var (killSwitch, done) = events.ViaMaterialized(KillSwitches.Single<(string, BlockJobEvent)>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<(string, BlockJobEvent)>(e => channel.Writer.TryWrite(e)), Keep.Both)
            .Run(system.Materializer());
        _ = done.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            killSwitch.Shutdown();
        }
    }

    private static bool IsEventLog(string persistenceId) => persistenceId.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Every host's event log now, then each one that appears later: the journal's persistence ids asked every
    /// <see cref="NewHostsEvery"/> (the read journal's own live query of them did not report streams other members
    /// began writing after it started).
    /// </summary>
    private static Source<string, NotUsed> NewStreams(SqlReadJournal journal, IMaterializer materializer)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return Source.Tick(TimeSpan.Zero, NewHostsEvery, NotUsed.Instance)
            .SelectAsync(1, _ => journal.CurrentPersistenceIds().Where(IsEventLog).RunWith(Sink.Seq<string>(), materializer))
            .SelectMany(ids => ids.Where(seen.Add).ToList())
            .MapMaterializedValue(_ => NotUsed.Instance);
    }
}
