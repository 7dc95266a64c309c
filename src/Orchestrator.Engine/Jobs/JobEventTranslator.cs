using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>Turns persisted job facts into the QMP events a client sees (JOB_STATUS_CHANGE, BLOCK_JOB_*).</summary>
public static class JobEventTranslator
{
    public static BlockJobEvent? Translate(JobEvent e, Job job, DateTimeOffset at) => e switch
    {
        JobStatusChanged s => new JobStatusChangeEvent(s.JobId.Value, QemuNames.Of(s.Status), at),
        JobFinished { Cancelled: true } => new BlockJobCancelledEvent(QemuNames.Of(job.Type), job.Id.Value, job.Length, job.Offset, job.Speed, at),
        JobFinished f => new BlockJobCompletedEvent(QemuNames.Of(job.Type), job.Id.Value, job.Length, job.Offset, job.Speed, f.Error, at),
        JobIoErrorRecorded r => new BlockJobErrorEvent(job.Id.Value, QemuNames.Of(r.Operation), QemuNames.Of(r.Action), at),
        _ => null,
    };
}
