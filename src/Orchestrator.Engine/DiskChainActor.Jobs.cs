using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Storage;

namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    private void CommandRunnerMessages()
    {
        Command<StreamRunnerMessages.Checkpointed>(m => FromCurrent(m.Job, m.Runner, () => OnJob(m.Job, job => job.Checkpoint(m.Offset))));
        Command<StreamRunnerMessages.Committed>(m => FromCurrent(m.Job, m.Runner, () => OnCommitted(m)));
        Command<StreamRunnerMessages.EndedWithError>(m => FromCurrent(m.Job, m.Runner, () => FinishRunner(m.Job, job => job.Fail(m.Error))));
        Command<StreamRunnerMessages.Cancelled>(m => FromCurrent(m.Job, m.Runner, () =>
        {
            // The copy has really stopped: only now is the job cancelled (BLOCK_JOB_CANCELLED), as in QEMU.
            OnJob(m.Job, job => job.Checkpoint(m.Offset));
            FinishRunner(m.Job, job => job.CancelStopped());
        }));
        Command<StreamRunnerMessages.IoFailed>(m => FromCurrent(m.Job, m.Runner, () => OnIoFailed(m)));
    }

    /// <summary>
    /// Handles a runner's report only if that runner still serves the job; a stopped runner's late report (after a
    /// cancel, a new job may reuse the id) only lets that runner go.
    /// </summary>
    private void FromCurrent(JobId job, StreamRunner runner, Action handle)
    {
        if (_runners.TryGetValue(job, out var current) && ReferenceEquals(current, runner))
        {
            handle();
            return;
        }

        Task.Run(runner.Dispose);
    }

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

        if (BackingFileRule.Check(decision.Events.OfType<JobCreated>().Single().Job, _settings.Confinement()) is { } backingFileError)
        {
            Sender.Tell(new DiskReplies.Refused(backingFileError));
            return;
        }

        events.AddRange(decision.Events);
        var jobId = ((JobCreated)decision.Events.OfType<JobCreated>().Single()).Job.Id;
        var sender = Sender;
        PersistEvents(events, () =>
        {
            StartRunner(jobId);
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

    private void StartRunner(JobId id)
    {
        var job = _state.Jobs[id];
        if (job.Status == JobStatus.Created)
        {
            var start = job.Start();
            PersistEvents(start.Events, () => LaunchRunner(id));
        }
        else
        {
            LaunchRunner(id);
        }
    }

    private void LaunchRunner(JobId id)
    {
        var job = _state.Jobs[id];
        try
        {
            var runner = new StreamRunner(_live!, job, _settings, Self, startPaused: !job.ShouldCopy);
            _runners[id] = runner;
            runner.Start();
        }
        catch (Exception e) when (e is Orchestrator.Qcow2.Qcow2Exception or IOException)
        {
            OnJob(id, j => j.Fail(e.Message));
        }
    }

    private void Handle(DiskCommands.JobVerbCommand command)
    {
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
        if (!_runners.TryGetValue(command.Job, out var runner))
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
                runner.Pause();
                break;
            case JobVerb.Resume:
                runner.Resume();
                if (wasStoppedByError)
                {
                    runner.Retry();
                }

                break;
            case JobVerb.Cancel:
                runner.Cancel();
                break;
            case JobVerb.SetSpeed:
                runner.SetSpeed(command.Speed);
                break;
        }
    }

    /// <summary>The header already points at the base: record the new chain and the job's success, then reopen the chain.</summary>
    private void OnCommitted(StreamRunnerMessages.Committed message)
    {
        if (!_state.Jobs.TryGetValue(message.Job, out var job))
        {
            return;
        }

        var chain = _state.DecideCommitted(job);
        var success = job.Succeed();
        if (success.Refused)
        {
            _log.Warning("job {0} committed but cannot succeed: {1}", job.Id, success.Error!.Message);
            return;
        }

        PersistEvents([.. chain.Events, .. success.Events], () =>
        {
            DisposeRunner(message.Job);
            ReopenWhenFree();
        });
    }

    /// <summary>
    /// The on-error policy decides: ignore skips the batch, stop pauses the job (resume retries), report stops the
    /// copy, whose end (EndedWithError) then fails the job: BLOCK_JOB_COMPLETED comes only once nothing copies.
    /// </summary>
    private void OnIoFailed(StreamRunnerMessages.IoFailed failure)
    {
        if (!_state.Jobs.TryGetValue(failure.Job, out var job) || !_runners.TryGetValue(failure.Job, out var runner))
        {
            return;
        }

        var decision = job.IoError(failure.Error, failure.Operation, failure.NoSpace);
        var action = decision.Events.OfType<JobIoErrorRecorded>().FirstOrDefault()?.Action;
        PersistEvents([.. decision.Events], () =>
        {
            var after = _state.Jobs.GetValueOrDefault(failure.Job);
            if (after is null || !after.IsLive)
            {
                runner.Cancel();
                DisposeRunner(failure.Job);
            }
            else if (action == "report")
            {
                runner.StopWithError(failure.Error);
            }
            else if (after.Status == JobStatus.Running)
            {
                runner.SkipAndContinue();
            }
        });
    }

    private void FinishRunner(JobId id, Func<Job, Decision<JobEvent>> decide)
    {
        OnJob(id, decide);
        DisposeRunner(id);
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

    private void DisposeRunner(JobId id)
    {
        if (_runners.Remove(id, out var runner))
        {
            // The runner's thread has already sent its last message; this only waits for it to exit.
            Task.Run(runner.Dispose);
        }

        if (_reopenPending)
        {
            ReopenWhenFree();
        }
    }

    /// <summary>
    /// Reopens the live chain after a commit changed it, but never under a runner that copies through it (that would
    /// dispose the images its copier reads); until then the old chain's view stays correct, only longer.
    /// </summary>
    private void ReopenWhenFree()
    {
        _reopenPending = _runners.Values.Any(r => r.UsesLiveChain);
        if (!_reopenPending)
        {
            _live?.Reopen();
        }
    }
}
