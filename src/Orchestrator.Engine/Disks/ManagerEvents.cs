using Orchestrator.Domain;

namespace Orchestrator.Engine;

/// <summary>
/// What the disk manager of earlier versions persisted (stream "disk-manager"): which disks the node hosted. Kept only
/// so that such a journal can still be read once and imported into the registry (<see cref="Disks.LegacyManagerReader"/>);
/// never written any more. The CLR names must not change: the old journal names these types.
/// </summary>
public static class ManagerEvents
{
    [WireName("manager.disk-added.v1")]
    public sealed record DiskAdded(string Disk) : IDomainEvent;

    [WireName("manager.disk-removed.v1")]
    public sealed record DiskRemoved(string Disk) : IDomainEvent;
}
