namespace Orchestrator.Domain.Jobs;

/// <summary>Persisted facts about a job; <see cref="Job.Apply"/> folds them into its state. Each carries what happened, never a whole state record.</summary>
public abstract record JobEvent(JobId JobId) : IDomainEvent;

/// <summary>The job was created with these parameters (block-stream's arguments, resolved against the chain).</summary>
[WireName("job.created.v2")]
public sealed record JobCreated(
    JobId JobId,
    JobType Type,
    DiskId Disk,
    string TopPath,
    string? BasePath,
    string? BackingFileString,
    IReadOnlyList<string> FrozenPaths,
    long Length,
    long Speed,
    OnErrorPolicy OnError,
    bool AutoFinalize,
    bool AutoDismiss) : JobEvent(JobId)
{
    /// <summary>The parameters of <paramref name="job"/> (its status and progress are not parameters: a job is created undefined).</summary>
    public static JobCreated Of(Job job) => new(job.Id, job.Type, job.Disk, job.TopPath, job.BasePath, job.BackingFileString,
        new List<string>(job.FrozenPaths), job.Length, job.Speed, job.OnError, job.AutoFinalize, job.AutoDismiss);

    /// <summary>The job as created: status undefined (the <see cref="JobStatusChanged"/> to created follows).</summary>
    public Job ToJob() => new()
    {
        Id = JobId,
        Type = Type,
        Disk = Disk,
        TopPath = TopPath,
        BasePath = BasePath,
        BackingFileString = BackingFileString,
        FrozenPaths = FrozenPaths,
        Length = Length,
        Speed = Speed,
        OnError = OnError,
        AutoFinalize = AutoFinalize,
        AutoDismiss = AutoDismiss,
    };
}

[WireName("job.status-changed.v1")]
public sealed record JobStatusChanged(JobId JobId, JobStatus Status) : JobEvent(JobId);

/// <summary>QEMU's user_paused flag: set by pause (and by on-error stop), cleared by resume and cancel.</summary>
[WireName("job.user-pause-changed.v1")]
public sealed record JobUserPauseChanged(JobId JobId, bool Paused) : JobEvent(JobId);

[WireName("job.speed-changed.v1")]
public sealed record JobSpeedChanged(JobId JobId, long Speed) : JobEvent(JobId);

/// <summary>
/// Everything below <paramref name="Offset"/> is copied and flushed; <paramref name="BytesCopied"/> of data were written
/// into the top to get there (0 in journals written before it was recorded: the job keeps its last figure).
/// </summary>
[WireName("job.checkpointed.v1")]
public sealed record JobCheckpointed(JobId JobId, long Offset, long BytesCopied = 0) : JobEvent(JobId);

/// <summary>An I/O error met by the job, with what the on-error policy made of it.</summary>
[WireName("job.io-error-recorded.v1")]
public sealed record JobIoErrorRecorded(JobId JobId, IoStatus IoStatus, string Error, IoOperation Operation, OnErrorAction Action) : JobEvent(JobId);

[WireName("job.io-status-cleared.v1")]
public sealed record JobIoStatusCleared(JobId JobId) : JobEvent(JobId);

/// <summary>The job's outcome is known (its status moves on through the events that follow).</summary>
[WireName("job.finished.v1")]
public sealed record JobFinished(JobId JobId, string? Error, bool Cancelled) : JobEvent(JobId);
