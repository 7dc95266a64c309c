using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>DISK_QUARANTINED {device, reason}: after a restart the disk's images were not opened; it serves nothing until fixed.</summary>
[WireName("event.disk-quarantined.v1")]
public sealed record DiskQuarantinedEvent(string Device, string Reason, DateTimeOffset Timestamp) : BlockJobEvent("DISK_QUARANTINED", Timestamp);
