namespace Orchestrator.Domain.Jobs;

/// <summary>
/// QMP's job events as the node publishes them (Server-Sent Events on the API): the event name and data fields are
/// QEMU's. <see cref="Sequence"/> orders events per node and is durable (the node's event log journals each event
/// before it is published, so a client resumes after a restart with no gap and no duplicate); <see cref="Timestamp"/>
/// is when the fact was persisted.
/// </summary>
public abstract record BlockJobEvent(string Event, DateTimeOffset Timestamp) : IWireMessage
{
    public long Sequence { get; init; }
}

/// <summary>JOB_STATUS_CHANGE {id, status}</summary>
[WireName("event.job-status-change.v1")]
public sealed record JobStatusChangeEvent(string Id, string Status, DateTimeOffset Timestamp) : BlockJobEvent("JOB_STATUS_CHANGE", Timestamp);

/// <summary>BLOCK_JOB_COMPLETED {type, device, len, offset, speed, error?}: on success and on failure, never on cancel.</summary>
[WireName("event.block-job-completed.v1")]
public sealed record BlockJobCompletedEvent(string Type, string Device, long Len, long Offset, long Speed, string? Error, DateTimeOffset Timestamp)
    : BlockJobEvent("BLOCK_JOB_COMPLETED", Timestamp);

/// <summary>BLOCK_JOB_CANCELLED {type, device, len, offset, speed}</summary>
[WireName("event.block-job-cancelled.v1")]
public sealed record BlockJobCancelledEvent(string Type, string Device, long Len, long Offset, long Speed, DateTimeOffset Timestamp)
    : BlockJobEvent("BLOCK_JOB_CANCELLED", Timestamp);

/// <summary>BLOCK_JOB_ERROR {device, operation: read|write, action: ignore|report|stop}</summary>
[WireName("event.block-job-error.v1")]
public sealed record BlockJobErrorEvent(string Device, string Operation, string Action, DateTimeOffset Timestamp)
    : BlockJobEvent("BLOCK_JOB_ERROR", Timestamp);
