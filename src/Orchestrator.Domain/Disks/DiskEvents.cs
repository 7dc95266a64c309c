namespace Orchestrator.Domain.Disks;

/// <summary>Persisted facts about a disk's chain (job events are persisted beside them).</summary>
public abstract record DiskEvent(DiskId Disk) : IDomainEvent;

/// <summary>The chain as discovered at registration, active image first.</summary>
[WireName("disk.registered.v1")]
public sealed record DiskRegistered(DiskId Disk, IReadOnlyList<string> Chain) : DiskEvent(Disk);

[WireName("disk.unregistered.v1")]
public sealed record DiskUnregistered(DiskId Disk) : DiskEvent(Disk);

/// <summary>The chain changed on disk (a snapshot added an active image, a stream committed a new backing file).</summary>
[WireName("disk.chain-changed.v1")]
public sealed record ChainChanged(DiskId Disk, IReadOnlyList<string> Chain, string Reason) : DiskEvent(Disk);
