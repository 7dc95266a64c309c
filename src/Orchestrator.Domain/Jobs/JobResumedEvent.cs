namespace Orchestrator.Domain.Jobs;

/// <summary>
/// JOB_RESUMED {id, disk, status, offset, len}: after its node restarted, a live job was picked up again from its last
/// checkpoint (<c>offset</c>). Our own event, not QEMU's (a QEMU job does not outlive its process): a client that saw
/// a job stall while the node was down learns here that it goes on, and from where. A paused job is picked up too and
/// stays paused (<c>status</c> says which).
/// </summary>
[WireName("event.job-resumed.v1")]
public sealed record JobResumedEvent(string Id, string Disk, string Status, long Offset, long Len, DateTimeOffset Timestamp)
    : BlockJobEvent("JOB_RESUMED", Timestamp);
