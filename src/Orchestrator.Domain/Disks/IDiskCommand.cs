namespace Orchestrator.Domain.Disks;

/// <summary>Marker for every command routed to one disk's actor (the sharding key is <see cref="Disk"/>).</summary>
public interface IDiskCommand : IWireMessage
{
    DiskId Disk { get; }
}
