using Akka.Actor;
using Akka.Persistence;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Reads, once, the registry of earlier versions, which had one stream per database (<c>registry-node</c>) and so kept
/// nodes from sharing a database; reports its state to this host's registry (<c>registry-{host}</c>), which adopts it.
/// The first host to start on that database adopts it; the stream is then deleted.
/// </summary>
internal sealed class NodeRegistryReader : OldStreamReader
{
    public const string OldPersistenceId = "registry-node";

    private RegistryState _state = RegistryState.Empty;

    public NodeRegistryReader(IActorRef registry)
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistrySnapshot snapshot)
            {
                _state = RegistryState.FromSnapshot(snapshot);
            }
        });
        Recover<IRegistryEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => registry.Tell(new Read(_state)));
    }

    public override string PersistenceId => OldPersistenceId;

    public static Props Props(IActorRef registry) => Akka.Actor.Props.Create(() => new NodeRegistryReader(registry));

    /// <summary>The old registry's state; empty when the stream is.</summary>
    public sealed record Read(RegistryState State);
}
