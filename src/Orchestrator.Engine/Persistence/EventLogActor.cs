using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The node's durable event log: every QMP event the node publishes is journaled here first (persistence id
/// <c>events-{host}</c>), and reaches the <see cref="EventHub"/> numbered with its journal sequence number. Recovery
/// gives the hub back the newest events and the numbering goes on from the last one, so SSE clients resume after a
/// restart with Last-Event-ID and miss nothing. The journal keeps the newest <see cref="EventHub.Capacity"/> events
/// (older ones are deleted every <see cref="TrimEvery"/>), so recovery replays a bounded number.
/// </summary>
public sealed class EventLogActor : ReceivePersistentActor
{
    private const int TrimEvery = 1000;
    private readonly EventHub _hub;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public EventLogActor(EventHub hub, string host)
    {
        _hub = hub;
        PersistenceId = PersistenceIdOf(host);
        Recover<BlockJobEvent>(e =>
        {
            // After a restart by the supervisor the hub already holds what the journal replays.
            if (LastSequenceNr > _hub.LastSequence)
            {
                _hub.Restore(e with { Sequence = LastSequenceNr });
            }
        });
        // PersistAsync: events are journaled in order, several per write, without holding the next ones back.
        Command<BlockJobEvent>(e => PersistAsync(e with { Sequence = 0 }, persisted =>
        {
            _hub.Deliver(persisted with { Sequence = LastSequenceNr });
            if (LastSequenceNr % TrimEvery == 0 && LastSequenceNr > _hub.Capacity)
            {
                DeleteMessages(LastSequenceNr - _hub.Capacity);
            }
        }));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "{0}: trimming the event log up to {1} failed; recovery replays more events",
            PersistenceId, f.ToSequenceNr));
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdOf(string host) => $"events-{host}";

    protected override void OnReplaySuccess()
    {
        base.OnReplaySuccess();
        _hub.MarkReady();
    }
}
