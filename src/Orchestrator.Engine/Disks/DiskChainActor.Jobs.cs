using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Jobs;
using Orchestrator.Engine.Observability;
using Orchestrator.Engine.Storage;
using static Orchestrator.Engine.StreamRunnerMessages;

namespace Orchestrator.Engine;

/// <summary>
/// The disk's jobs: each running job has a <see cref="StreamWorker"/> under a <see cref="JobSupervisor"/>, driven by
/// messages only. This actor is the one place that decides: it persists every fact the workers report, forwards the
/// users' verbs, answers the on-error question, and alone decides between commit and cancel.
/// </summary>
public sealed partial class DiskChainActor
{
    private readonly Dictionary<JobId, WorkerHandle> _workers = [];
    private long _nextRun;

    private void CommandRunnerMessages()
    {
        Command<WorkerStarted>(m => FromCurrent(m.Job, m.Run, h => OnWorkerStarted(m.Job, h)));
        Command<Progress>(m => FromCurrent(m.Job, m.Run, h =>
        {
            h.Offset = Math.Max(h.Offset, m.Offset);
            h.Busy = m.Busy;
            h.Copied = Math.Max(h.Copied, m.BytesCopied);
        }));
        Command<Checkpointed>(m => FromCurrent(m.Job, m.Run, h =>
        {
            h.Offset = Math.Max(h.Offset, m.Offset);
            h.Copied = Math.Max(h.Copied, m.BytesCopied);
            OnJob(m.Job, job => job.Checkpoint(m.Offset, h.TotalCopied));
            EngineMetrics.Checkpointed(_id.Value, m.Job.Value);
        }));
        Command<ReadyToCommit>(m => FromCurrent(m.Job, m.Run, h => OnReadyToCommit(m.Job, h)));
        Command<Committed>(m => FromCurrent(m.Job, m.Run, _ => OnCommitted(m.Job)));
        Command<EndedWithError>(m => FromCurrent(m.Job, m.Run, _ => FinishWorker(m.Job, job => job.Fail(m.Error))));
        Command<Cancelled>(m => FromCurrent(m.Job, m.Run, h =>
        {
            // The copy has really stopped: only now is the job cancelled (BLOCK_JOB_CANCELLED), as in QEMU.
            h.Copied = Math.Max(h.Copied, m.BytesCopied);
            OnJob(m.Job, job => job.Checkpoint(m.Offset, h.TotalCopied));
            FinishWorker(m.Job, job => job.CancelStopped());
        }));
        Command<IoFailed>(m => FromCurrent(m.Job, m.Run, h => OnIoFailed(m, h)));
        Command<Faulted>(m => FromCurrent(m.Job, m.Run, h => h.LastFault = m.Error));
        Command<HeldForHandOff>(m => FromCurrent(m.Job, m.Run, _ => HandOffDone(m.Job)));
        Command<Terminated>(OnWorkerTerminated);
    }

    /// <summary>
    /// Handles a worker's report only if that run still serves the job; a stopped worker's late report (after a cancel,
    /// a new job may reuse the id) is dropped: that worker stops by itself.
    /// </summary>
    private void FromCurrent(JobId job, long run, Action<WorkerHandle> handle)
    {
        if (_workers.TryGetValue(job, out var current) && current.Run == run)
        {
            handle(current);
        }
    }

    /// <summary>Where the copy really is (QEMU reports that, not the last persisted checkpoint).</summary>
    private long LiveOffset(Job job) => Math.Max(job.Offset, _workers.GetValueOrDefault(job.Id)?.Offset ?? 0);

    /// <summary>The data the job has written so far, durable or not (what a progress bar counts).</summary>
    private long LiveBytesCopied(Job job) => Math.Max(job.BytesCopied, _workers.GetValueOrDefault(job.Id)?.TotalCopied ?? 0);

    /// <summary>query-block-jobs' busy: the worker is copying, not sitting at a pause point or waiting for an answer.</summary>
    private bool IsBusy(Job job) => _workers.TryGetValue(job.Id, out var worker) && worker.Busy;

    /// <summary>
    /// block-stream (and block-copy: a snapshot at the destination, then a stream with no base into it).
    /// Decide, persist the job, start its runner, reply.
    /// </summary>
    private void StartJob(StreamRequest request, JobType type, string? destination)
    {
        if (_live is null)
        {
            Sender.Tell(new DiskReplies.Refused(NotOpen()));
            return;
        }

        if (!TryResolveImageNames(request, out var resolved, out var nameError))
        {
            Sender.Tell(new DiskReplies.Refused(nameError));
            return;
        }

        using var span = EngineSpans.StartJob(request.TraceParent, _id.Value, QemuNames.Of(type));
        var trace = span?.Context ?? default;
        var events = new List<IDomainEvent>();
        var state = _state;
        if (destination is not null)
        {
            string path;
            try
            {
                path = StoragePolicy.Resolve(destination, _settings.StorageRoots);
            }
            catch (StorageRootException e)
            {
                Sender.Tell(new DiskReplies.Refused(ErrorFor(e)));
                return;
            }

            var snapshot = state.DecideSnapshot(path);
            var probe = PreviewCopyJob(state, snapshot, path, resolved, type);
            if (probe.Refused)
            {
                Sender.Tell(new DiskReplies.Refused(probe.Error!));
                return;
            }

            if (!TryTakeSnapshot(path, out var snapshotError))
            {
                Sender.Tell(new DiskReplies.Refused(snapshotError!));
                return;
            }

            events.AddRange(snapshot.Events);
            state = snapshot.Events.Aggregate(state, (s, e) => s.Apply(e));
            resolved = resolved with { Top = path };
        }

        var decision = state.DecideStream(resolved, _live.VirtualSize, type);
        if (decision.Refused)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        if (BackingFileRule.Check(decision.Events.OfType<JobCreated>().Single().ToJob(), _settings.Confinement()) is { } backingFileError)
        {
            Sender.Tell(new DiskReplies.Refused(backingFileError));
            return;
        }

        events.AddRange(decision.Events);
        var jobId = decision.Events.OfType<JobCreated>().Single().JobId;
        var sender = Sender;
        PersistEvents(events, () =>
        {
            StartRunner(jobId, trace);
            sender.Tell(new DiskReplies.JobStarted(JobInfo.From(_state.Jobs[jobId], busy: true)));
        });
    }

    /// <summary>Refuse a block-copy before the snapshot file is created when the stream after it would be refused.</summary>
    private Decision<IDomainEvent> PreviewCopyJob(DiskState state, Decision<IDomainEvent> snapshot, string path, StreamRequest request, JobType type)
    {
        if (snapshot.Refused)
        {
            return snapshot;
        }

        var after = snapshot.Events.Aggregate(state, (s, e) => s.Apply(e));
        return after.DecideStream(request with { Top = path }, _live!.VirtualSize, type);
    }

    /// <summary>The request's top and base as chain entries (<see cref="ChainImageName"/>); an ambiguous name is refused.</summary>
    private bool TryResolveImageNames(StreamRequest request, out StreamRequest resolved, [NotNullWhen(false)] out DomainError? error)
    {
        resolved = request;
        string? top = null;
        string? @base = null;
        if ((request.Top is not null && !ChainImageName.TryResolve(request.Top, _state.Chain, out top, out error))
            || (request.Base is not null && !ChainImageName.TryResolve(request.Base, _state.Chain, out @base, out error)))
        {
            return false;
        }

        resolved = request with { Top = top, Base = @base };
        error = null;
        return true;
    }

    /// <summary>Starts the job's runner; <paramref name="trace"/> is the span of the request that started it, if any.</summary>
    private void StartRunner(JobId id, ActivityContext trace = default)
    {
        var job = _state.Jobs[id];
        if (job.Status == JobStatus.Created)
        {
            var start = job.Start();
            PersistEvents(start.Events, () => LaunchRunner(id, trace));
        }
        else
        {
            LaunchRunner(id, trace);
        }
    }

    /// <summary>Starts the job's supervisor and worker; the worker asks for its start state (<see cref="OnWorkerStarted"/>).</summary>
    private void LaunchRunner(JobId id, ActivityContext trace = default)
    {
        var job = _state.Jobs[id];
        var run = ++_nextRun;
        var worker = StreamWorker.Props(Self, _live!, job, run, _settings, trace);
        var supervisor = Context.ActorOf(JobSupervisor.Props(worker), $"job-{id}-{run}");
        Context.Watch(supervisor);
        _workers[id] = new WorkerHandle(supervisor, run, StreamWorker.UsesLiveChain(job, _live!), busy: job.ShouldCopy)
        {
            Offset = job.Offset,
            CopiedBefore = job.BytesCopied,
        };
    }

    /// <summary>A worker starts, or restarts after a crash: it gets the job's persisted state, the one truth.</summary>
    private void OnWorkerStarted(JobId id, WorkerHandle handle)
    {
        if (_state.Jobs.TryGetValue(id, out var job))
        {
            // A restarted worker copies again from the checkpoint and counts from 0: what it redoes is counted once.
            handle.CopiedBefore = job.BytesCopied;
            handle.Copied = 0;
            Sender.Tell(new Go(job.Offset, job.Speed, Paused: job.UserPaused || job.Status == JobStatus.Paused,
                Cancelled: job.Status == JobStatus.Aborting, job.IgnoredError));
        }
        else
        {
            Sender.Tell(StreamRunnerMessages.Cancel.Instance);
        }
    }

    private void Handle(DiskCommands.JobVerbCommand command)
    {
        if (_workers.TryGetValue(command.Job, out var worker) && worker.Committing)
        {
            // The commit is being written: the verb is answered once the outcome is persisted (QEMU's job finalizes in
            // the main loop, where no command can come between; a cancel then finds the job completed).
            worker.Deferred.Add((command, Sender));
            return;
        }

        if (!_state.Jobs.TryGetValue(command.Job, out var job))
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"Block job '{command.Job}' not found")));
            return;
        }

        var decision = command.Verb switch
        {
            JobVerb.Pause => job.Pause(),
            JobVerb.Resume => job.Resume(),
            JobVerb.Cancel => job.Cancel(),
            JobVerb.SetSpeed => job.SetSpeed(command.Speed),
            JobVerb.Dismiss => job.Dismiss(),
            _ => Decision<JobEvent>.Refuse(DomainError.WrongState(JobTransitions.VerbRefused(job.Id, job.Status, command.Verb))),
        };
        if (decision.Refused)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        var sender = Sender;
        var wasStopped = job.IoStatus != IoStatus.Ok;
        PersistEvents([.. decision.Events], () =>
        {
            ApplyVerbToRunner(command, wasStopped);
            sender.Tell(new DiskReplies.JobList(JobInfos().Where(j => j.Device == command.Job.Value).ToList()));
        });
    }

    private void ApplyVerbToRunner(DiskCommands.JobVerbCommand command, bool wasStoppedByError)
    {
        if (!_workers.TryGetValue(command.Job, out var worker))
        {
            if (command.Verb == JobVerb.Resume && _state.Jobs.ContainsKey(command.Job))
            {
                LaunchRunner(command.Job);
            }
            else if (command.Verb == JobVerb.Cancel)
            {
                // No copy is running, so nothing has to stop first.
                OnJob(command.Job, job => job.CancelStopped());
            }

            return;
        }

        switch (command.Verb)
        {
            case JobVerb.Pause:
                worker.Supervisor.Tell(StreamRunnerMessages.Pause.Instance);
                break;
            case JobVerb.Resume:
                worker.Supervisor.Tell(StreamRunnerMessages.Resume.Instance);
                if (wasStoppedByError)
                {
                    worker.Supervisor.Tell(RetryBatch.Instance);
                }

                break;
            case JobVerb.Cancel:
                worker.Supervisor.Tell(StreamRunnerMessages.Cancel.Instance);
                break;
            case JobVerb.SetSpeed:
                worker.Supervisor.Tell(new SetSpeed(command.Speed));
                break;
        }
    }

    /// <summary>
    /// The copy is complete and durable. Commit or cancel is decided here, in one message: a cancel that came first
    /// has already made the job aborting (the worker got the cancel and will answer Cancelled); otherwise the worker
    /// writes the header and verbs wait until the outcome is persisted.
    /// </summary>
    private void OnReadyToCommit(JobId id, WorkerHandle worker)
    {
        if (!_state.Jobs.TryGetValue(id, out var job) || job.Status == JobStatus.Aborting)
        {
            return;
        }

        if (job.Succeed().Error is { } refused)
        {
            _log.Error("job {0} finished its copy but cannot complete ({1}); it fails instead", id, refused.Message);
            worker.Supervisor.Tell(StreamRunnerMessages.Cancel.Instance);
            FinishWorker(id, j => j.Fail(refused.Message));
            return;
        }

        worker.Committing = true;
        worker.Supervisor.Tell(Commit.Instance);
    }

    /// <summary>The header points at the base: record the new chain and the job's success together, then reopen the chain.</summary>
    private void OnCommitted(JobId id)
    {
        var job = _state.Jobs[id];
        var chain = _state.DecideCommitted(job);
        var success = job.Succeed();
        if (chain.Refused || success.Refused)
        {
            // Unreachable while the job holds its images (nothing else changes them, and only this actor moves the job
            // out of running); the header is the truth, which the next restart reconciles.
            _log.Error("job {0} committed but cannot be recorded: {1}", id, (chain.Error ?? success.Error)!.Message);
            RemoveWorker(id);
            return;
        }

        PersistEvents([.. chain.Events, .. success.Events], () =>
        {
            RemoveWorker(id);
            ReopenWhenFree();
        });
    }

    /// <summary>
    /// The on-error policy decides: ignore skips the batch, stop pauses the job (resume retries), report stops the
    /// copy, whose end (EndedWithError) then fails the job: BLOCK_JOB_COMPLETED comes only once nothing copies.
    /// </summary>
    private void OnIoFailed(IoFailed failure, WorkerHandle worker)
    {
        if (!_state.Jobs.TryGetValue(failure.Job, out var job) || job.Status == JobStatus.Aborting)
        {
            // Being cancelled: the worker has the cancel, which ends its wait for an answer.
            return;
        }

        var decision = job.IoError(failure.Error, failure.Operation, failure.NoSpace);
        if (decision.Refused)
        {
            worker.Supervisor.Tell(new ErrorAnswer(OnErrorAction.Report, failure.Error));
            return;
        }

        var action = decision.Events.OfType<JobIoErrorRecorded>().Single().Action;
        PersistEvents([.. decision.Events], () => worker.Supervisor.Tell(new ErrorAnswer(action, failure.Error)));
    }

    /// <summary>A job's supervisor stopped without its worker's last word: the restarts ran out (or it was stopped).</summary>
    private void OnWorkerTerminated(Terminated terminated)
    {
        var (id, worker) = _workers.FirstOrDefault(w => w.Value.Supervisor.Equals(terminated.ActorRef));
        if (worker is null)
        {
            return;
        }

        var error = worker.LastFault ?? "internal error: the stream worker stopped";
        _log.Error("job {0}: its stream worker stopped for good: {1}", id, error);
        FinishWorker(id, job => job.Status == JobStatus.Aborting ? job.CancelStopped() : job.Fail(error));
    }

    private void FinishWorker(JobId id, Func<Job, Decision<JobEvent>> decide)
    {
        OnJob(id, decide);
        RemoveWorker(id);
    }

    private void OnJob(JobId id, Func<Job, Decision<JobEvent>> decide)
    {
        if (!_state.Jobs.TryGetValue(id, out var job))
        {
            return;
        }

        var decision = decide(job);
        if (decision.Refused)
        {
            _log.Debug("job {0}: {1}", id, decision.Error!.Message);
            return;
        }

        PersistEvents([.. decision.Events], () => { });
    }

    /// <summary>
    /// Forgets a worker that has sent its last word (it stops by itself, its supervisor with it) and replays the verbs
    /// that waited for its commit: they come after the outcome's events, which are persisted first.
    /// </summary>
    private void RemoveWorker(JobId id)
    {
        if (_workers.Remove(id, out var worker))
        {
            HandOffDone(id);
            Context.Unwatch(worker.Supervisor);
            foreach (var (command, sender) in worker.Deferred)
            {
                Self.Tell(command, sender);
            }
        }

        if (_reopenPending)
        {
            ReopenWhenFree();
        }
    }

    /// <summary>
    /// Reopens the live chain after a commit changed it, but never under a worker that copies through it (that would
    /// dispose the images its copier reads); until then the old chain's view stays correct, only longer.
    /// </summary>
    private void ReopenWhenFree()
    {
        _reopenPending = _workers.Values.Any(w => w.UsesLiveChain);
        if (!_reopenPending)
        {
            _live?.Reopen();
        }
    }
}
