using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;

namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    // How soon a disk whose journal's database was away during its recovery tries again.
    private static readonly TimeSpan RecoveryRetryDelay = TimeSpan.FromSeconds(5);

    // Set while replaying when an event cannot be applied: the rest of the journal is not applied, the disk is quarantined.
    private string? _poisoned;

    /// <summary>
    /// The journal could not be replayed: Akka stops this actor after this call. When its database was away (an outage,
    /// or no event within the recovery timeout) the disk starts again by itself a little later, through its shard
    /// region, and replays then. Otherwise (an entry that does not deserialize) the reason is left for the router, which
    /// puts a <see cref="QuarantinedDisk"/> in its place; the node serves on.
    /// </summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (Persistence.JournalErrors.IsOutage(reason) || reason is RecoveryTimedOutException)
        {
            _log.Warning("disk {0}: its journal could not be read ({1}); it starts again in {2} s", _id, reason.GetBaseException().Message, RecoveryRetryDelay.TotalSeconds);
            var region = Context.System.ActorSelection(Context.Parent.Path.Parent);
            Context.System.Scheduler.ScheduleTellOnce(RecoveryRetryDelay, region, new Akka.Cluster.Sharding.ShardRegion.StartEntity(_id.Value), ActorRefs.NoSender);
            base.OnRecoveryFailure(reason, message);
            return;
        }

        var why = $"its journal could not be replayed after sequence number {LastSequenceNr}: {reason.GetBaseException().Message}";
        EngineLocal.Of(Context.System).RecoveryFailures[_id.Value] = why;
        _events.Publish(new DiskQuarantinedEvent(_id.Value, why, DateTimeOffset.UtcNow));
        base.OnRecoveryFailure(reason, message);
    }

    private void RecoverSnapshot(SnapshotOffer offer)
    {
        if (offer.Snapshot is DiskSnapshot snapshot)
        {
            _state = DiskState.FromSnapshot(snapshot);
            return;
        }

        // The old disk manager shared the persistence id "disk-manager" with a disk named "manager": not this disk's.
        _log.Warning("disk {0}: ignoring a snapshot of type {1} in its journal", _id, offer.Snapshot.GetType().Name);
    }

    private void RecoverEvent(IDomainEvent e)
    {
        if (_poisoned is not null)
        {
            return;
        }

        try
        {
            _state = _state.Apply(e);
        }
        catch (Exception error)
        {
            _poisoned = $"its journal holds an event that cannot be applied at sequence number {LastSequenceNr} ({e.GetType().Name}): {error.Message}";
        }
    }

    /// <summary>
    /// After a restart: a disk with a chain reopens it on a task (checking the storage roots again), reports its
    /// images and jobs to the registry, reconciles the journal with the headers on disk (the header is the truth: a
    /// job whose commit already landed is completed, not redone), then resumes running jobs from their last
    /// checkpoint without anyone asking. Paused jobs stay paused. A disk whose images cannot be opened is quarantined.
    /// </summary>
    private void OnRecovered()
    {
        if (_poisoned is not null)
        {
            Quarantine(_poisoned);
            return;
        }

        if (_state.Registered && IdRule.Problem(_id.Value, "id") is { } badId)
        {
            // A journal written before the id rule (or by hand) holds an id no request could name: nothing is opened
            // under it, and it holds no image, so the same image can be registered again under a well-formed id.
            Quarantine($"its journal holds an id the rule refuses ({badId}); nothing is opened under it and it holds no images", holdImages: false);
            return;
        }

        if (!_state.Registered)
        {
            // A registration cut short by a crash (claimed, never persisted here) frees its claim.
            _registry.Tell(new RegistryCommands.Release(_id));
            Settle();
            return;
        }

        var chain = _state.Chain;
        var settings = _settings;
        Await(OffThread(() => Reopen(chain, settings)), live =>
        {
            Open(live, scan: true);
            _registry.Tell(new RegistryCommands.Sync(_id, ChainProbe.ClaimsOf(live.ChainPaths), [.. _state.Jobs.Keys]));
            Reconcile();
        }, error => Quarantine(ErrorFor(error).Message));
    }

    /// <summary>Every image the journal names, and every image the headers name now, must lie under a storage root.</summary>
    private static LiveDisk Reopen(IReadOnlyList<string> chain, EngineSettings settings)
    {
        var roots = settings.StorageRoots;
        foreach (var path in chain)
        {
            StoragePolicy.Resolve(path, roots);
        }

        var live = new LiveDisk(chain[0], settings);
        try
        {
            foreach (var path in live.ChainPaths)
            {
                StoragePolicy.Resolve(path, roots);
            }

            return live;
        }
        catch
        {
            live.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Serves nothing, reports why (show, list, an event); its images stay claimed so no other disk takes them, unless
    /// <paramref name="holdImages"/> is false.
    /// </summary>
    private void Quarantine(string reason, bool holdImages = true)
    {
        _quarantine = reason;
        _log.Error("disk {0} is quarantined: {1}", IdRule.Printable(_id.Value), reason);
        _registry.Tell(holdImages
            ? new RegistryCommands.Sync(_id, ChainProbe.ClaimsOf(_state.Chain), [.. _state.Jobs.Keys])
            : new RegistryCommands.Sync(_id, [], []));
        _events.Publish(new DiskQuarantinedEvent(_id.Value, reason, DateTimeOffset.UtcNow));
        Settle();
    }

    private void Reconcile()
    {
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

        var real = _live!.ChainPaths;
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
            _events.Publish(new JobResumedEvent(job.Id.Value, _id.Value, QemuNames.Of(job.Status), job.Offset, job.Length, DateTimeOffset.UtcNow));
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
