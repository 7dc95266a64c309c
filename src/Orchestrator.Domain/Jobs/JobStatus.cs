namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's JobStatus (qapi/job.json), in the same order.</summary>
public enum JobStatus
{
    Undefined,
    Created,
    Running,
    Paused,
    Ready,
    Standby,
    Waiting,
    Pending,
    Aborting,
    Concluded,
    Null,
}
