using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// A <see cref="DiskState"/> as the snapshot store keeps it (<see cref="DiskState.ToSnapshot"/>,
/// <see cref="DiskState.FromSnapshot"/>). Concrete lists only: the serializer must read back what it wrote, and a
/// dictionary keyed by <see cref="JobId"/> would come back with string keys.
/// </summary>
[WireName("disk.snapshot.v1")]
public sealed record DiskSnapshot(DiskId? Disk, List<string> Chain, List<Job> Jobs) : IWireMessage;
