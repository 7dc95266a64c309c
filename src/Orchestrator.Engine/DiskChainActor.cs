using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine;

/// <summary>
/// One disk: owns its image files, its live I/O path and its jobs. Every change is decided by the pure
/// <see cref="DiskState"/>, persisted, applied, and only then answered. Stream runners work on their own threads
/// and report back here; this actor persists their checkpoints and outcomes. Its state is snapshotted every
/// <see cref="EngineSettings.SnapshotInterval"/> events, so a long-lived disk recovers from a snapshot and a short tail.
/// </summary>
public sealed partial class DiskChainActor : SnapshottingPersistentActor
{
    private readonly DiskId _id;
    private readonly EngineSettings _settings;
    private readonly EventHub _events;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<JobId, StreamRunner> _runners = [];
    private bool _reopenPending;
    private DiskState _state;
    private LiveDisk? _live;

    public DiskChainActor(DiskId id, EngineSettings settings, EventHub events)
        : base(settings.SnapshotInterval)
    {
        _id = id;
        _settings = settings;
        _events = events;
        _state = DiskState.For(id);

        Recover<SnapshotOffer>(offer => _state = DiskState.FromSnapshot((DiskSnapshot)offer.Snapshot));
        Recover<IDomainEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<DiskCommands.Register>(c => Handle(c, new Dictionary<string, IReadOnlyList<string>>()));
        Command<EngineMessages.RegisterAmong>(c => Handle(c.Register, c.OtherChains));
        Command<DiskCommands.Unregister>(_ => Handle());
        Command<DiskCommands.Show>(_ => Sender.Tell(Describe()));
        Command<DiskCommands.Snapshot>(Handle);
        Command<DiskCommands.Stream>(c => StartJob(c.Request, JobType.Stream, destination: null));
        Command<DiskCommands.BlockCopy>(c => StartJob(c.Request with { Base = null }, JobType.BlockCopy, c.Destination));
        Command<DiskCommands.JobVerbCommand>(Handle);
        Command<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList(JobInfos())));
        Command<EngineMessages.GetLiveDisk>(_ => Sender.Tell(_live is null ? new DiskReplies.Refused(NotOpen()) : _live));
        CommandRunnerMessages();
    }

    public override string PersistenceId => $"disk-{_id}";

    public static Props Props(DiskId id, EngineSettings settings, EventHub events) =>
        Akka.Actor.Props.Create(() => new DiskChainActor(id, settings, events));

    protected override object SnapshotState() => _state.ToSnapshot();

    private void Handle(DiskCommands.Register command, IReadOnlyDictionary<string, IReadOnlyList<string>> otherChains)
    {
        IReadOnlyList<string> chain;
        try
        {
            var active = StoragePolicy.Resolve(command.ActivePath, _settings.StorageRoots);
            chain = DiscoverChain(active);
        }
        catch (Exception e) when (e is StorageRootException or Qcow2Exception or IOException)
        {
            Sender.Tell(new DiskReplies.Refused(ErrorFor(e)));
            return;
        }

        if (!_state.Registered && CollisionWith(chain, otherChains) is { } collision)
        {
            Sender.Tell(new DiskReplies.Refused(collision));
            return;
        }

        var decision = _state.DecideRegister(_id, chain);
        PersistDecision(decision, () =>
        {
            _live ??= new LiveDisk(chain[0], _settings);
            return Describe();
        });
    }

    private void Handle()
    {
        PersistDecision(_state.DecideUnregister(), () =>
        {
            _live?.Dispose();
            _live = null;
            Context.Parent.Tell(new EngineMessages.DiskUnregistered(_id));
            return new DiskReplies.Done($"disk '{_id}' unregistered; its image files were left in place");
        });
    }

    private void Handle(DiskCommands.Snapshot command)
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
        if (decision.Refused || _live is null)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error ?? NotOpen()));
            return;
        }

        if (!TryTakeSnapshot(path, out var error))
        {
            Sender.Tell(new DiskReplies.Refused(error!));
            return;
        }

        PersistDecision(decision, Describe);
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

    /// <summary>
    /// QEMU's image locking, between disks: an image another disk writes (its active image) may not appear in this
    /// chain, and this disk's active image may not be part of another disk's chain. Shared read-only bases are fine.
    /// </summary>
    private static DomainError? CollisionWith(IReadOnlyList<string> chain, IReadOnlyDictionary<string, IReadOnlyList<string>> others)
    {
        foreach (var (disk, otherChain) in others)
        {
            if (otherChain.Contains(chain[0]))
            {
                return DomainError.Busy($"image '{chain[0]}' is already used by disk '{disk}'; a disk's active image must not be another disk's image");
            }

            if (chain.Contains(otherChain[0]))
            {
                return DomainError.Busy($"image '{otherChain[0]}' is the active image of disk '{disk}' and cannot be a backing file of another disk");
            }
        }

        return null;
    }

    private DiskReplies.DiskInfo Describe()
    {
        var images = _live?.WithChain(chain => chain.Images.Select((image, i) => Summarize(image, chain.DisplayNames[i])).ToList())
            ?? [];
        return new DiskReplies.DiskInfo(_id, _state.ActivePath ?? "", _state.Chain, images, JobInfos());
    }

    private static DiskReplies.ImageSummary Summarize(Qcow2Image image, string path)
    {
        var allocated = 0L;
        for (var offset = 0L; offset < image.VirtualSize;)
        {
            var extent = image.GetExtent(offset, image.VirtualSize - offset);
            if (extent.IsAllocated)
            {
                allocated += extent.Length;
            }

            offset += extent.Length;
        }

        return new DiskReplies.ImageSummary(Path.GetFullPath(path), image.VirtualSize, image.ClusterSize, allocated, image.Header.BackingFileName);
    }

    private List<JobInfo> JobInfos() =>
        _state.Jobs.Values.Select(j => JobInfo.From(j with { Offset = Math.Max(j.Offset, _runners.GetValueOrDefault(j.Id)?.Offset ?? 0) },
            busy: _runners.TryGetValue(j.Id, out var runner) && runner.Busy && j.ShouldCopy)).ToList();

    /// <summary>Opens the chain below an active image and checks that every image in it lies under a storage root.</summary>
    private IReadOnlyList<string> DiscoverChain(string activePath)
    {
        using var chain = ImageChain.Open(activePath, _settings.ChainOptions(writableTop: false));
        var paths = chain.DisplayNames.Select(Path.GetFullPath).ToList();
        foreach (var path in paths)
        {
            StoragePolicy.Resolve(path, _settings.StorageRoots);
        }

        return paths;
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
            if (e is DiskEvent)
            {
                Context.Parent.Tell(new EngineMessages.ChainUpdated(_id, _state.Chain));
            }
            if (ReferenceEquals(e, last))
            {
                after();
            }
        });
    }

    private void Publish(DiskState before, IDomainEvent e)
    {
        if (e is not JobEvent jobEvent)
        {
            return;
        }

        var job = _state.Jobs.GetValueOrDefault(jobEvent.JobId) ?? before.Jobs.GetValueOrDefault(jobEvent.JobId);
        if (job is not null && _runners.TryGetValue(job.Id, out var runner))
        {
            // QEMU reports where the copy is, not where it was last persisted.
            job = job with { Offset = Math.Max(job.Offset, runner.Offset) };
        }

        if (job is not null && JobEventTranslator.Translate(jobEvent, job, DateTimeOffset.UtcNow) is { } qmp)
        {
            _events.Publish(qmp);
        }
    }

    private DomainError NotOpen() => DomainError.NotFound($"disk '{_id}' is not registered or its images could not be opened");

    private static DomainError ErrorFor(Exception e) => e switch
    {
        StorageRootException or Qcow2Exception { Kind: Qcow2ErrorKind.Confined } => new DomainError("outside-storage-root", e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.Locked } => DomainError.Busy(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.NotRegularFile } => DomainError.InvalidParameter(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.InvalidArgument } => DomainError.InvalidParameter(e.Message),
        Qcow2Exception { Kind: Qcow2ErrorKind.Io } q when q.Detail.Contains("No such file", StringComparison.Ordinal) => DomainError.NotFound(e.Message),
        Qcow2Exception q => new DomainError(q.Kind switch
        {
            Qcow2ErrorKind.InvalidFormat => "invalid-image",
            Qcow2ErrorKind.UnsupportedFeature => "unsupported-image",
            Qcow2ErrorKind.Corrupt => "corrupt-image",
            Qcow2ErrorKind.BackingChain => "bad-backing-chain",
            Qcow2ErrorKind.NoSpace => "no-space",
            _ => "io-error",
        }, e.Message),
        _ => new DomainError("io-error", e.Message),
    };

    protected override void PostStop()
    {
        foreach (var runner in _runners.Values)
        {
            runner.Dispose();
        }

        _runners.Clear();
        _live?.Dispose();
        base.PostStop();
    }
}
