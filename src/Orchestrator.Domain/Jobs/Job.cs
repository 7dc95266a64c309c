using static Orchestrator.Domain.Jobs.JobStatus;

namespace Orchestrator.Domain.Jobs;

/// <summary>
/// One block job as QEMU models it, as an immutable record with pure decisions (which return events) and
/// <see cref="Apply"/>. The stream actor drives its life (start, checkpoints, errors, finish); users send verbs.
/// </summary>
public sealed record Job
{
    public required JobId Id { get; init; }
    public required JobType Type { get; init; }
    public required DiskId Disk { get; init; }

    /// <summary>The image streamed into (the active image, or an intermediate one).</summary>
    public required string TopPath { get; init; }

    /// <summary>The image that stays as the new backing file; null streams the whole chain.</summary>
    public string? BasePath { get; init; }

    /// <summary>QEMU's backing-file: the string written into the header instead of the base's name.</summary>
    public string? BackingFileString { get; init; }

    /// <summary>Images strictly between top and base: frozen while the job lives.</summary>
    public IReadOnlyList<string> FrozenPaths { get; init; } = [];

    public required long Length { get; init; }
    public long Offset { get; init; }

    /// <summary>Data written into the top up to the last checkpoint: below <see cref="Offset"/> when the top already held some.</summary>
    public long BytesCopied { get; init; }

    public long Speed { get; init; }
    public OnErrorPolicy OnError { get; init; } = OnErrorPolicy.Report;
    public bool AutoFinalize { get; init; } = true;
    public bool AutoDismiss { get; init; } = true;
    public JobStatus Status { get; init; } = Undefined;
    public bool UserPaused { get; init; }
    public IoStatus IoStatus { get; init; } = IoStatus.Ok;
    public string? Error { get; init; }
    public bool Cancelled { get; init; }

    /// <summary>
    /// An error met under on-error ignore: not shown until the job finishes (as QEMU), but remembered across a restart,
    /// so a resumed job still ends with it and never commits a top with skipped ranges.
    /// </summary>
    public string? IgnoredError { get; init; }

    /// <summary>True while the job holds images: from creation until it concludes.</summary>
    public bool IsLive => Status is not (Concluded or Null);

    /// <summary>True while the copy loop should run: started, not paused, not finishing.</summary>
    public bool ShouldCopy => Status == Running && !UserPaused;

    /// <summary>
    /// Folds one event. A status change outside QEMU's transition table throws: decisions never produce one (they check
    /// with <see cref="JobTransitions.Problem"/>), so this only fires on a bug or a journal that was tampered with.
    /// </summary>
    public Job Apply(JobEvent e) => e switch
    {
        JobCreated created => created.ToJob(),
        JobStatusChanged s when !JobTransitions.CanTransition(Status, s.Status) =>
            throw new InvalidOperationException($"illegal job transition of '{Id}': {QemuNames.Of(Status)} -> {QemuNames.Of(s.Status)}"),
        JobStatusChanged s => this with { Status = s.Status },
        JobUserPauseChanged p => this with { UserPaused = p.Paused },
        JobSpeedChanged s => this with { Speed = s.Speed },
        JobCheckpointed c => this with { Offset = Math.Max(Offset, c.Offset), BytesCopied = Math.Max(BytesCopied, c.BytesCopied) },
        // QEMU sets io-status only when the action is stop; the job's error appears only when it finishes with one.
        JobIoErrorRecorded r => r.Action switch
        {
            OnErrorAction.Stop => this with { IoStatus = r.IoStatus },
            OnErrorAction.Ignore => this with { IgnoredError = IgnoredError ?? r.Error },
            _ => this,
        },
        JobIoStatusCleared => this with { IoStatus = IoStatus.Ok },
        JobFinished f => this with { Error = f.Error ?? Error, Cancelled = f.Cancelled },
        _ => this,
    };

    public static Decision<JobEvent> Create(Job job) =>
        job.Speed < 0
            ? Decision<JobEvent>.Refuse(DomainError.InvalidParameter("Invalid parameter 'speed'"))
            : Decision<JobEvent>.Accept(JobCreated.Of(job), new JobStatusChanged(job.Id, Created));

    /// <summary>The engine starts the copy: created -> running (-> paused at once if the user paused it before it ran).</summary>
    public Decision<JobEvent> Start() =>
        Status != Created
            ? Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' cannot start"))
            : Accept(UserPaused ? [Changed(Running), Changed(Paused)] : [Changed(Running)]);

    public Decision<JobEvent> Pause()
    {
        if (!JobTransitions.Accepts(Status, JobVerb.Pause))
        {
            return RefuseVerb(JobVerb.Pause);
        }

        if (UserPaused)
        {
            return Refuse(DomainError.WrongState("Job is already paused"));
        }

        var events = new List<JobEvent> { new JobUserPauseChanged(Id, true) };
        if (Status == Running)
        {
            events.Add(Changed(Paused));
        }

        return Accept(events);
    }

    /// <summary>Resume clears the error status; on-error stop and enospc jobs retry the same range.</summary>
    public Decision<JobEvent> Resume()
    {
        if (!JobTransitions.Accepts(Status, JobVerb.Resume))
        {
            return RefuseVerb(JobVerb.Resume);
        }

        if (!UserPaused)
        {
            return Refuse(DomainError.WrongState("Can't resume a job that was not paused"));
        }

        var events = new List<JobEvent> { new JobUserPauseChanged(Id, false), new JobIoStatusCleared(Id) };
        if (Status == Paused)
        {
            events.Add(Changed(Running));
        }

        return Accept(events);
    }

    public Decision<JobEvent> SetSpeed(long speed)
    {
        if (!JobTransitions.Accepts(Status, JobVerb.SetSpeed))
        {
            return RefuseVerb(JobVerb.SetSpeed);
        }

        return speed < 0
            ? Refuse(DomainError.InvalidParameter("Invalid parameter 'speed'"))
            : Accept([new JobSpeedChanged(Id, speed)]);
    }

    /// <summary>
    /// Cancel: a paused job is resumed first (as QEMU's job_cancel does), then aborts. The job stays aborting until its
    /// copy has really stopped (<see cref="CancelStopped"/>): only then BLOCK_JOB_CANCELLED, as in QEMU. The chain is untouched.
    /// </summary>
    public Decision<JobEvent> Cancel()
    {
        if (!JobTransitions.Accepts(Status, JobVerb.Cancel))
        {
            return RefuseVerb(JobVerb.Cancel);
        }

        var events = new List<JobEvent>();
        if (UserPaused)
        {
            events.Add(new JobUserPauseChanged(Id, false));
        }

        if (Status == Paused)
        {
            events.Add(Changed(Running));
        }

        events.Add(Changed(Aborting));
        return Accept(events);
    }

    /// <summary>The cancelled job's copy has stopped (or never ran): cancelled, concluded, and null with auto-dismiss.</summary>
    public Decision<JobEvent> CancelStopped()
    {
        if (Status != Aborting)
        {
            return Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' is not being cancelled"));
        }

        List<JobEvent> events = [new JobFinished(Id, null, Cancelled: true), Changed(Concluded)];
        if (AutoDismiss)
        {
            events.Add(Changed(Null));
        }

        return Accept(events);
    }

    public Decision<JobEvent> Dismiss() =>
        JobTransitions.Accepts(Status, JobVerb.Dismiss) ? Accept([Changed(Null)]) : RefuseVerb(JobVerb.Dismiss);

    /// <summary>
    /// The copy reached the end without error and the new backing file is committed: waiting, pending, concluded.
    /// A pause that arrived after the copy's last pause point does not hold it back (as in QEMU, where pausing only
    /// acts at pause points): the commit has happened, so the job resumes and completes.
    /// </summary>
    public Decision<JobEvent> Succeed()
    {
        if (Status is not (Running or Paused))
        {
            return Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' cannot complete"));
        }

        var events = new List<JobEvent>();
        if (UserPaused)
        {
            events.Add(new JobUserPauseChanged(Id, false));
        }

        if (Status == Paused)
        {
            events.Add(Changed(Running));
        }

        events.AddRange([new JobCheckpointed(Id, Length), Changed(Waiting), Changed(Pending), new JobFinished(Id, null, false), Changed(Concluded)]);
        if (AutoDismiss)
        {
            events.Add(Changed(Null));
        }

        return Accept(events);
    }

    /// <summary>The job failed (on-error report, or an error remembered under ignore): aborting, concluded.</summary>
    public Decision<JobEvent> Fail(string error)
    {
        if (Status is not (Running or Paused or Created))
        {
            return Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' cannot fail"));
        }

        var events = new List<JobEvent>();
        if (UserPaused)
        {
            events.Add(new JobUserPauseChanged(Id, false));
        }

        if (Status == Paused)
        {
            events.Add(Changed(Running));
        }

        events.Add(Changed(Aborting));
        events.Add(new JobFinished(Id, error, false));
        events.Add(Changed(Concluded));
        if (AutoDismiss)
        {
            events.Add(Changed(Null));
        }

        return Accept(events);
    }

    /// <summary>
    /// An I/O error in the copy loop, decided by the on-error policy: report fails the job; ignore records the error
    /// and goes on (the job will complete with it); stop pauses with io-status failed; enospc stops on ENOSPC only.
    /// </summary>
    public Decision<JobEvent> IoError(string error, IoOperation operation, bool noSpace)
    {
        if (Status is not (Running or Paused))
        {
            return Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' is not copying"));
        }

        var action = OnError switch
        {
            OnErrorPolicy.Ignore => OnErrorAction.Ignore,
            OnErrorPolicy.Stop => OnErrorAction.Stop,
            OnErrorPolicy.Enospc when noSpace => OnErrorAction.Stop,
            _ => OnErrorAction.Report,
        };
        var recorded = new JobIoErrorRecorded(Id, noSpace ? IoStatus.Nospace : IoStatus.Failed, error, operation, action);
        return action switch
        {
            // A chunk already in flight may fail after the user paused: the job just stays paused.
            OnErrorAction.Stop => Accept(UserPaused ? [recorded] : [recorded, new JobUserPauseChanged(Id, true), Changed(Paused)]),

            // ignore goes on; report is recorded (BLOCK_JOB_ERROR) and the job fails only once its copy has stopped
            // (Fail), as QEMU's job completes only after its coroutine returned.
            _ => Accept([recorded]),
        };
    }

    /// <summary>Progress of a live job's copy; a job that has concluded takes no more.</summary>
    public Decision<JobEvent> Checkpoint(long offset, long bytesCopied = 0) =>
        IsLive && Status != Undefined
            ? Accept([new JobCheckpointed(Id, offset, bytesCopied)])
            : Refuse(DomainError.WrongState($"Job '{Id}' in state '{QemuNames.Of(Status)}' takes no checkpoint"));

    private JobStatusChanged Changed(JobStatus status) => new(Id, status);

    /// <summary>Every accepted decision passes the transition table here, before anything is persisted.</summary>
    private Decision<JobEvent> Accept(IEnumerable<JobEvent> events)
    {
        var list = events.ToArray();
        return JobTransitions.Problem(Id, Status, list) is { } problem
            ? Refuse(DomainError.WrongState(problem))
            : Decision<JobEvent>.Accept(list);
    }

    private static Decision<JobEvent> Refuse(DomainError error) => Decision<JobEvent>.Refuse(error);

    private Decision<JobEvent> RefuseVerb(JobVerb verb) => Refuse(DomainError.WrongState(JobTransitions.VerbRefused(Id, Status, verb)));

    /// <summary>Folds a decision's events; <see cref="Apply"/> checks each status change against QEMU's transition table.</summary>
    public Job ApplyAll(IEnumerable<JobEvent> events) => events.Aggregate(this, (job, e) => job.Apply(e));
}
