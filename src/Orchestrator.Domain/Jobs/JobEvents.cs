namespace Orchestrator.Domain.Jobs;

/// <summary>Persisted facts about a job; <see cref="Job.Apply"/> folds them into its state.</summary>
public abstract record JobEvent(JobId JobId) : IDomainEvent;

public sealed record JobCreated(Job Job) : JobEvent(Job.Id);

public sealed record JobStatusChanged(JobId JobId, JobStatus Status) : JobEvent(JobId);

/// <summary>QEMU's user_paused flag: set by pause (and by on-error stop), cleared by resume and cancel.</summary>
public sealed record JobUserPauseChanged(JobId JobId, bool Paused) : JobEvent(JobId);

public sealed record JobSpeedChanged(JobId JobId, long Speed) : JobEvent(JobId);

/// <summary>Everything below <paramref name="Offset"/> is copied and flushed.</summary>
public sealed record JobCheckpointed(JobId JobId, long Offset) : JobEvent(JobId);

/// <summary>An I/O error met by the job, with what the on-error policy made of it.</summary>
public sealed record JobIoErrorRecorded(JobId JobId, IoStatus IoStatus, string Error, string Operation, string Action) : JobEvent(JobId);

public sealed record JobIoStatusCleared(JobId JobId) : JobEvent(JobId);

/// <summary>The job's outcome is known (its status moves on through the events that follow).</summary>
public sealed record JobFinished(JobId JobId, string? Error, bool Cancelled) : JobEvent(JobId);
