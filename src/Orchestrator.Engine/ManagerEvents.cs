using Orchestrator.Domain;

namespace Orchestrator.Engine;

/// <summary>What the disk manager persists: which disks this node hosts, so it can restart their actors after a crash.</summary>
public static class ManagerEvents
{
    [WireName("manager.disk-added.v1")]
    public sealed record DiskAdded(string Disk) : IDomainEvent;

    [WireName("manager.disk-removed.v1")]
    public sealed record DiskRemoved(string Disk) : IDomainEvent;
}
