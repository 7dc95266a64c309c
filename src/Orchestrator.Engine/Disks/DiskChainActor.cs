using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2;

namespace Orchestrator.Engine;

/// <summary>
/// One disk, the entity of its disk id: owns its image files, its live I/O path and its jobs. Every change is decided
/// by the pure <see cref="DiskState"/>, persisted, applied, and only then answered. Which images and job ids it holds
/// is claimed from the registry (an explicit IActorRef, never the parent) before anything is written. Slow image work
/// (opening the chain, the allocation scan) runs on tasks whose results come back as messages. Behaviours:
/// recovering, then <see cref="Unregistered"/> | busy (opening, claiming) | <see cref="Ready"/> | <see cref="Quarantined"/>.
/// Its state is snapshotted every <see cref="EngineSettings.SnapshotInterval"/> events.
/// </summary>
public sealed partial class DiskChainActor : SnapshottingPersistentActor, IWithTimers
{
    private readonly DiskId _id;
    private readonly EngineSettings _settings;
    private readonly IActorRef _registry;
    private readonly EventHub _events;
    private readonly LocalDisks _localDisks;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _reopenPending;
    private DiskState _state;
    private LiveDisk? _live;

    // Why the disk serves nothing after a restart (its images did not open, or its journal did not replay); null when fine.
    private string? _quarantine;

    public DiskChainActor(DiskId id, EngineSettings settings, IActorRef registry)
        : base(settings.SnapshotInterval)
    {
        _id = id;
        _settings = settings;
        _registry = registry;
        var local = EngineLocal.Of(Context.System);
        _events = local.Events;
        _localDisks = local.Disks;
        _state = DiskState.For(id);

        Recover<SnapshotOffer>(RecoverSnapshot);
        Recover<IDomainEvent>(RecoverEvent);
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Unregistered();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId => DiskMessageExtractor.EntityName(_id.Value);

    public static Props Props(DiskId id, EngineSettings settings, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new DiskChainActor(id, settings, registry));

    protected override object SnapshotState() => _state.ToSnapshot();

    /// <summary>The behaviour the state calls for, once no slow work is pending.</summary>
    private void Settle()
    {
        if (_quarantine is not null)
        {
            Become(Quarantined);
        }
        else if (_state.Registered && _live is not null)
        {
            Become(Ready);
        }
        else
        {
            Become(Unregistered);
        }
    }

    /// <summary>No chain: only a registration (or questions, answered "not registered").</summary>
    private void Unregistered()
    {
        CommandSnapshotHousekeeping();
        CommandHandOff();
        CommandSummaryMessages();
        Command<DiskCommands.Register>(Register);
        Command<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList([])));
        Command<IDiskCommand>(_ => Sender.Tell(new DiskReplies.Refused(NotOpen())));
    }

    private void Ready()
    {
        CommandSnapshotHousekeeping();
        CommandHandOff();
        CommandSummaryMessages();
        CommandRunnerMessages();
        Command<DiskCommands.Register>(_ => Sender.Tell(new DiskReplies.Refused(_state.DecideRegister(_id, _state.Chain).Error!)));
        Command<DiskCommands.Unregister>(_ => Unregister());
        Command<DiskCommands.Show>(_ => ShowWhenScanned());
        Command<DiskCommands.Snapshot>(Snapshot);
        Command<DiskCommands.Stream>(c => ClaimThenStartJob(c.Request, JobType.Stream, destination: null));
        Command<DiskCommands.BlockCopy>(c => ClaimThenStartJob(c.Request with { Base = null }, JobType.BlockCopy, c.Destination));
        Command<DiskCommands.JobVerbCommand>(Handle);
        Command<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList(JobInfos())));
        Command<DiskCommands.QueryJob>(QueryJob);
        Command<JobClaimSettled>(m => ReleaseJobClaimIfUnused(m.Job));
    }

    /// <summary>After a restart the images could not be opened: show why, allow unregistering, refuse the rest.</summary>
    private void Quarantined()
    {
        CommandSnapshotHousekeeping();
        CommandHandOff();
        Command<DiskCommands.Show>(_ => Sender.Tell(Describe()));
        Command<EngineMessages.Summarize>(_ => Sender.Tell(Describe()));
        Command<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList(JobInfos())));
        Command<DiskCommands.QueryJob>(QueryJob);
        Command<DiskCommands.Unregister>(_ => PersistDecision(Decision<IDomainEvent>.Accept(new DiskUnregistered(_id)), () =>
        {
            // Nothing runs or is open: the jobs the journal held go with the disk.
            _quarantine = null;
            _registry.Tell(new RegistryCommands.Release(_id));
            Settle();
            return new DiskReplies.Done($"disk '{_id}' unregistered; its image files were left in place");
        }));
        Command<IDiskCommand>(_ => Sender.Tell(new DiskReplies.Refused(
            DomainError.WrongState($"disk '{_id}' is quarantined: {_quarantine}; unregister it, fix its files, and register it again"))));
    }

    /// <summary>Opens the chain off the actor's thread, claims its images from the registry, opens it for writing, persists.</summary>
    private void Register(DiskCommands.Register command)
    {
        if (IdRule.Problem(_id.Value, "id") is { } problem)
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.InvalidParameter(problem)));
            return;
        }

        var settings = _settings;
        Await(OffThread(() => ChainProbe.Open(command.ActivePath, settings)), probe =>
            Await(AskRegistry(new RegistryCommands.Claim(_id, probe.Claims)), reply =>
            {
                if (reply is DiskReplies.Refused refused)
                {
                    Sender.Tell(refused);
                    return;
                }

                // Only now, with the images ours, is the active image opened for writing.
                Await(OffThread(() => new LiveDisk(probe.Chain[0], settings)), live => Registered(probe, live), error =>
                {
                    _registry.Tell(new RegistryCommands.Release(_id));
                    Sender.Tell(new DiskReplies.Refused(ErrorFor(error)));
                });
            }, RefuseWith), RefuseWith);
    }

    private void Registered(ChainProbe probe, LiveDisk live)
    {
        var decision = _state.DecideRegister(_id, probe.Chain);
        if (decision.Refused)
        {
            Task.Run(live.Dispose);
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        _images = probe.Images;
        Open(live, scan: false);
        PersistDecision(decision, () =>
        {
            Settle();
            return Describe();
        });
    }

    private void Unregister()
    {
        PersistDecision(_state.DecideUnregister(), () =>
        {
            Close();
            _registry.Tell(new RegistryCommands.Release(_id));
            Settle();
            return new DiskReplies.Done($"disk '{_id}' unregistered; its image files were left in place");
        });
    }

    /// <summary>A live snapshot: the new file's path is claimed from the registry before the file is created.</summary>
    private void Snapshot(DiskCommands.Snapshot command)
    {
        string path;
        try
        {
            path = StoragePolicy.Resolve(command.NewPath, _settings.StorageRoots);
        }
        catch (StorageRootException e)
        {
            Sender.Tell(new DiskReplies.Refused(ErrorFor(e)));
            return;
        }

        var decision = _state.DecideSnapshot(path);
        if (decision.Refused)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        Await(AskRegistry(new RegistryCommands.Claim(_id, ChainProbe.WithPending(ChainProbe.ClaimsOf(_state.Chain), path))), reply =>
        {
            if (reply is DiskReplies.Refused refused)
            {
                Sender.Tell(refused);
                return;
            }

            // Decided again: a job's commit may have changed the chain while the registry answered.
            var now = _state.DecideSnapshot(path);
            DomainError? error = now.Error;
            if (error is not null || !TryTakeSnapshot(path, out error))
            {
                ReclaimChain();
                Sender.Tell(new DiskReplies.Refused(error!));
                return;
            }

            PersistDecision(now, Describe);
        }, RefuseWith);
    }

    /// <summary>Creates the overlay and switches the guest to it; the file exists before the journal names it.</summary>
    private bool TryTakeSnapshot(string path, out DomainError? error)
    {
        error = null;
        if (File.Exists(path))
        {
            error = DomainError.InvalidParameter($"'{path}' already exists; a snapshot never overwrites a file");
            return false;
        }

        try
        {
            _live!.Snapshot(path);
            return true;
        }
        catch (Exception e) when (e is Qcow2Exception or IOException)
        {
            error = ErrorFor(e);
            return false;
        }
    }

    private void QueryJob(DiskCommands.QueryJob query)
    {
        var jobs = JobInfos().Where(j => j.Device == query.Job.Value).ToList();
        Sender.Tell(jobs.Count == 0
            ? new DiskReplies.Refused(DomainError.NotFound($"Block job '{query.Job}' not found"))
            : new DiskReplies.JobList(jobs));
    }

    private DiskReplies.DiskInfo Describe() => new(_id, _state.ActivePath ?? "", _state.Chain, ImagesFor(_state.Chain), JobInfos(),
        _quarantine is not null ? DiskStates.Quarantined : _live is null ? DiskStates.Opening : DiskStates.Ready, _quarantine);

    private List<JobInfo> JobInfos() =>
        _state.Jobs.Values.Select(j => JobInfo.From(j with { Offset = LiveOffset(j), BytesCopied = LiveBytesCopied(j) }, busy: IsBusy(j))).ToList();

    /// <summary>The guest I/O path is open: publish it to the node (NBD exports) and keep its summary current.</summary>
    private void Open(LiveDisk live, bool scan)
    {
        _live = live;
        _localDisks.Publish(_id, live);
        Timers.StartPeriodicTimer("summary", SummaryTick.Instance, SummaryInterval);
        if (scan)
        {
            RefreshSummary();
        }
    }

    private void Close()
    {
        if (_live is null)
        {
            return;
        }

        _localDisks.Withdraw(_id, _live);
        _live.Dispose();
        _live = null;
    }

    /// <summary>Persist the decision's events, apply each, publish the QMP events, then reply with what <paramref name="reply"/> builds.</summary>
    private void PersistDecision(Decision<IDomainEvent> decision, Func<object> reply)
    {
        if (decision.Refused)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        var sender = Sender;
        PersistEvents(decision.Events, () => sender.Tell(reply()));
    }

    private void PersistEvents(IReadOnlyList<IDomainEvent> events, Action after)
    {
        if (events.Count == 0)
        {
            after();
            return;
        }

        var last = events[^1];
        PersistAll(events, e =>
        {
            var before = _state;
            _state = _state.Apply(e);
            SnapshotIfDue();
            Publish(before, e);
            AfterApplied(before, e);
            if (ReferenceEquals(e, last))
            {
                after();
            }
        });
    }

    /// <summary>Keeps the registry and the summary in step with what was just persisted.</summary>
    private void AfterApplied(DiskState before, IDomainEvent e)
    {
        switch (e)
        {
            case ChainChanged:
                ReclaimChain();
                RefreshSummarySoon();
                break;
            case JobStatusChanged { Status: JobStatus.Null } gone:
                _registry.Tell(new RegistryCommands.ReleaseJob(_id, gone.JobId));
                break;
            case JobStatusChanged { Status: JobStatus.Concluded }:
                RefreshSummarySoon();
                break;
        }

        if (before.Registered && !_state.Registered)
        {
            ClearSummary();
        }
    }

    /// <summary>Tells the registry the images the chain holds now (after a snapshot or a commit); shrinking never conflicts.</summary>
    private void ReclaimChain()
    {
        if (_state.Registered)
        {
            AskRegistry(new RegistryCommands.Claim(_id, ChainProbe.ClaimsOf(_state.Chain))).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully && t.Result is DiskReplies.Refused refused)
                {
                    _log.Warning("disk {0}: the registry refused its chain's claims: {1}", _id, refused.Error.Message);
                }
            }, TaskContinuationOptions.ExecuteSynchronously);
        }
    }

    private void Publish(DiskState before, IDomainEvent e)
    {
        if (e is not JobEvent jobEvent)
        {
            return;
        }

        var job = _state.Jobs.GetValueOrDefault(jobEvent.JobId) ?? before.Jobs.GetValueOrDefault(jobEvent.JobId);
        if (job is not null)
        {
            // QEMU reports where the copy is, not where it was last persisted.
            job = job with { Offset = LiveOffset(job) };
        }

        if (job is not null && JobEventTranslator.Translate(jobEvent, job, DateTimeOffset.UtcNow) is { } qmp)
        {
            _events.Publish(qmp);
        }
    }

    private DomainError NotOpen() => DomainError.NotFound($"disk '{_id}' is not registered or its images could not be opened");

    private void RefuseWith(Exception e) => Sender.Tell(new DiskReplies.Refused(ErrorFor(e)));

    private static DomainError ErrorFor(Exception e) => e switch
    {
        StorageRootException or Qcow2Exception { Kind: Qcow2ErrorKind.Confined } => new DomainError("outside-storage-root", e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.Locked } => DomainError.Busy(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.NotRegularFile } => DomainError.InvalidParameter(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.InvalidArgument } => DomainError.InvalidParameter(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.Io, IsNotFound: true } => DomainError.NotFound(e.Message),
        Qcow2Exception q => new DomainError(q.Kind switch
        {
            Qcow2ErrorKind.InvalidFormat => "invalid-image",
            Qcow2ErrorKind.UnsupportedFeature => "unsupported-image",
            Qcow2ErrorKind.Corrupt => "corrupt-image",
            Qcow2ErrorKind.BackingChain => "bad-backing-chain",
            Qcow2ErrorKind.NoSpace => "no-space",
            _ => "io-error",
        }, e.Message),
        AskTimeoutException => new DomainError("timeout", $"the disk registry did not answer: {e.Message}"),
        _ => new DomainError("io-error", e.Message),
    };

    protected override void PostStop()
    {
        // The job workers are children: Akka has stopped them (each waited for its work in flight) before this runs.
        _workers.Clear();
        Close();
        base.PostStop();
    }
}
