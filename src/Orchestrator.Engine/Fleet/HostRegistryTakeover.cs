using Akka.Actor;
using Akka.Persistence;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Disks;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Reads the registry of a host that was downed (its stream <c>registry-{host}</c>, from the shared journal) and, when
/// told, writes into it that some of its disks moved to this host. It runs only while that host is out of the cluster,
/// so the host's own registry is not running; if the host came back and wrote meanwhile, the journal's unique sequence
/// numbers refuse one of the two writes, and a refused move is not made. It never saves snapshots and stops when done.
/// </summary>
public sealed class HostRegistryTakeover : ReceivePersistentActor
{
    private readonly string _host;
    private readonly IActorRef _requester;
    private RegistryState _state = RegistryState.Empty;
    private IActorRef _mover = ActorRefs.Nobody;

    public HostRegistryTakeover(string host, IActorRef requester)
    {
        _host = host;
        _requester = requester;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistrySnapshot snapshot)
            {
                _state = RegistryState.FromSnapshot(snapshot);
            }
        });
        Recover<IRegistryEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => _requester.Tell(new Recovered(_host, _state)));
        Command<MoveAway>(MoveDisks);
    }

    public override string PersistenceId => DiskRegistryActor.PersistenceIdOf(_host);

    public static Props Props(string host, IActorRef requester) => Akka.Actor.Props.Create(() => new HostRegistryTakeover(host, requester));

    private void MoveDisks(MoveAway move)
    {
        _mover = Sender;
        var events = _state.DecideMoveAway(move.Disks, move.ToHost).Events;
        if (events.Count == 0)
        {
            Finish(new MovedAway(_host, []));
            return;
        }

        var last = events[^1];
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            if (ReferenceEquals(e, last))
            {
                Finish(new MovedAway(_host, [.. events.Cast<RegistryEvents.DiskMoved>().Select(m => m.Disk)]));
            }
        });
    }

    private void Finish(object answer)
    {
        _mover.Tell(answer);
        Context.Stop(Self);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _mover.Tell(new Status.Failure(new InvalidOperationException(
            $"the registry of host {_host} could not record the move (sequence number {sequenceNr}): {cause.GetBaseException().Message}", cause)));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _mover.Tell(new Status.Failure(new InvalidOperationException(
            $"the registry of host {_host} refused the move (sequence number {sequenceNr}): {cause.GetBaseException().Message}", cause)));
        base.OnPersistRejected(cause, @event, sequenceNr);
        Context.Stop(Self);
    }

    /// <summary>The downed host's registry as its journal holds it.</summary>
    public sealed record Recovered(string Host, RegistryState State);

    /// <summary>Record that <paramref name="Disks"/> moved to <paramref name="ToHost"/>; answered with <see cref="MovedAway"/>.</summary>
    public sealed record MoveAway(IReadOnlyList<string> Disks, string ToHost);

    /// <summary>The disks now recorded as moved (those the host still held).</summary>
    public sealed record MovedAway(string Host, IReadOnlyList<string> Disks);
}
