using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;

namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    /// <summary>
    /// After a restart: reopen the images, reconcile the journal with the headers on disk (the header is the truth:
    /// a job whose commit already landed is completed, not redone), then resume running jobs from their last
    /// checkpoint without anyone asking. Paused jobs stay paused.
    /// </summary>
    private void OnRecovered()
    {
        if (!_state.Registered)
        {
            return;
        }

        Context.Parent.Tell(new EngineMessages.ChainUpdated(_id, _state.Chain));
        try
        {
            _live = new LiveDisk(_state.ActivePath!, _settings);
        }
        catch (Exception e) when (e is Qcow2Exception or IOException)
        {
            _log.Error("disk {0}: cannot open its active image '{1}': {2}", _id, _state.ActivePath, e.Message);
            return;
        }

        var events = new List<IDomainEvent>();
        var state = _state;
        foreach (var job in state.LiveJobs.ToList())
        {
            if (job.Status == JobStatus.Aborting)
            {
                // Cancelled before the crash, and its copy is certainly stopped now: finish the cancel.
                foreach (var e in job.CancelStopped().Events)
                {
                    events.Add(e);
                    state = state.Apply(e);
                }
            }
            else if (CommitLanded(job))
            {
                var commit = state.DecideCommitted(job);
                var success = (job.Status == JobStatus.Created ? job.ApplyAll(job.Start().Events) : job).Succeed();
                var startEvents = job.Status == JobStatus.Created ? job.Start().Events : [];
                var jobEvents = success.Refused ? [] : startEvents.Concat(success.Events).Cast<IDomainEvent>();
                foreach (var e in commit.Events.Concat(jobEvents))
                {
                    events.Add(e);
                    state = state.Apply(e);
                }
            }
        }

        var real = _live.ChainPaths;
        if (!real.SequenceEqual(state.Chain))
        {
            events.Add(new ChainChanged(_id, real, "reconciled with the image headers after a restart"));
        }

        PersistEvents(events, ResumeJobs);
    }

    private void ResumeJobs()
    {
        _live?.Reopen();
        foreach (var job in _state.LiveJobs.ToList())
        {
            _log.Info("disk {0}: resuming job {1} ({2}) from offset {3}", _id, job.Id, QemuNames.Of(job.Status), job.Offset);
            StartRunner(job.Id);
        }
    }

    /// <summary>True when the job's top image already backs onto its base on disk.</summary>
    private bool CommitLanded(Job job)
    {
        try
        {
            using var top = Qcow2Image.Open(job.TopPath, _settings.ReadOnlyImage());
            var backing = top.Header.BackingFileName;
            if (job.BasePath is null)
            {
                return backing is null;
            }

            return backing is not null
                && Path.GetFullPath(Qcow2.Chain.BackingPath.Combine(job.TopPath, backing)) == Path.GetFullPath(job.BasePath);
        }
        catch (Qcow2Exception)
        {
            return false;
        }
    }
}
