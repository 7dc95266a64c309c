using Akka.Actor;
using Akka.Persistence;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Reads, once, the journal of the disk manager of earlier versions (persistence id "disk-manager": its
/// <see cref="ManagerEvents"/> and <see cref="ManagerSnapshot"/>), reports the disks it lists to the registry, and
/// once they are imported deletes that stream, so that a disk named "manager" (whose id is also "disk-manager") never
/// replays it. Unknown entries in the stream are skipped.
/// </summary>
internal sealed class LegacyManagerReader : OldStreamReader
{
    public const string LegacyPersistenceId = "disk-manager";

    private readonly IActorRef _registry;
    private readonly SortedSet<string> _disks = new(StringComparer.Ordinal);

    public LegacyManagerReader(IActorRef registry)
    {
        _registry = registry;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ManagerSnapshot snapshot)
            {
                _disks.Clear();
                _disks.UnionWith(snapshot.Disks);
            }
        });
        Recover<ManagerEvents.DiskAdded>(e => _disks.Add(e.Disk));
        Recover<ManagerEvents.DiskRemoved>(e => _disks.Remove(e.Disk));
        Recover<RecoveryCompleted>(_ => _registry.Tell(new Read([.. _disks])));
    }

    public override string PersistenceId => LegacyPersistenceId;

    public static Props Props(IActorRef registry) => Akka.Actor.Props.Create(() => new LegacyManagerReader(registry));

    /// <summary>The disks the old manager hosted.</summary>
    public sealed record Read(IReadOnlyList<string> Disks);
}
