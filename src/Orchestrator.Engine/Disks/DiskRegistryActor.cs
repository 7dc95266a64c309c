using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The fleet-wide facts about disks in their own persisted entity: which disks exist and on which host, which images
/// each holds (by device and inode), and which disk holds each job id. Every claim is decided by the pure
/// <see cref="RegistryState"/>, persisted, applied, and only then answered; commands wait (stash) until recovery and
/// the one-time import of the old disk manager's journal are done. It is talked to only through its IActorRef, so it
/// can become a cluster singleton without changing the disks.
/// </summary>
public sealed class DiskRegistryActor : SnapshottingPersistentActor
{
    /// <summary>
    /// Starts with "registry-", which no disk's persistence id ("disk-" and an id) can: a disk named "registry" or
    /// "manager" is only ever "disk-registry" or "disk-manager".
    /// </summary>
    public const string RegistryPersistenceId = "registry-node";

    private readonly string _host;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private RegistryState _state = RegistryState.Empty;

    public DiskRegistryActor(EngineSettings settings, string host)
        : base(settings.SnapshotInterval)
    {
        _host = host;
        Recover<SnapshotOffer>(offer => _state = RegistryState.FromSnapshot((RegistrySnapshot)offer.Snapshot));
        Recover<IRegistryEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Importing();
    }

    public override string PersistenceId => RegistryPersistenceId;

    public static Props Props(EngineSettings settings, string host) => Akka.Actor.Props.Create(() => new DiskRegistryActor(settings, host));

    protected override object SnapshotState() => _state.ToSnapshot();

    private void OnRecovered()
    {
        if (_state.LegacyImported)
        {
            Become(Serving);
            return;
        }

        // First start on a journal the old disk manager may have written: read its disk list once, then serve.
        Context.Watch(Context.ActorOf(LegacyManagerReader.Props(Self), "legacy-manager"));
    }

    private void Importing()
    {
        CommandSnapshotHousekeeping();
        Command<LegacyManagerReader.Read>(read => Import(read.Disks, Sender));
        Command<Terminated>(_ =>
        {
            // The reader stopped without reporting (its journal could not be replayed): serve with what is known.
            _log.Error("the old disk manager's journal (disk-manager) could not be read; its disks are not imported");
            Import([], ActorRefs.Nobody);
        });
        CommandAny(_ => Stash.Stash());
    }

    private void Import(IReadOnlyList<string> disks, IActorRef reader)
    {
        Context.Unwatch(reader);
        PersistAll(_state.DecideImport(disks, _host).Events, e =>
        {
            _state = _state.Apply(e);
            SnapshotIfDue();
            _log.Info("imported {0} disk(s) from the old disk manager's journal", disks.Count);
            reader.Tell(LegacyManagerReader.Forget.Instance);
            Become(Serving);
            Stash.UnstashAll();
        });
    }

    private void Serving()
    {
        CommandSnapshotHousekeeping();
        Command<RegistryCommands.Claim>(c => Decide(_state.DecideClaim(c.Disk, _host, c.Images)));
        Command<RegistryCommands.Sync>(c => Decide(_state.DecideSync(c.Disk, _host, c.Images, c.Jobs)));
        Command<RegistryCommands.Release>(c => Decide(_state.DecideRelease(c.Disk)));
        Command<RegistryCommands.ClaimJob>(c => Decide(_state.DecideClaimJob(c.Disk, c.Job)));
        Command<RegistryCommands.ReleaseJob>(c => Decide(_state.DecideReleaseJob(c.Disk, c.Job)));
        Command<RegistryCommands.Locate>(c => Sender.Tell(new RegistryCommands.Located(c.Job, _state.DiskOfJob(c.Job))));
        Command<RegistryCommands.ListDisks>(_ => Sender.Tell(new RegistryCommands.DiskList(
            [.. _state.Disks.Values.OrderBy(d => d.Disk, StringComparer.Ordinal)])));
        Command<LegacyManagerReader.Read>(_ => Sender.Tell(LegacyManagerReader.Forget.Instance));
        Command<Terminated>(_ => { });
    }

    /// <summary>Persist the decision's events, apply them, then answer: the check and the claim are one step.</summary>
    private void Decide(Decision<IRegistryEvent> decision)
    {
        if (decision.Refused)
        {
            Sender.Tell(new DiskReplies.Refused(decision.Error!));
            return;
        }

        var sender = Sender;
        if (decision.Events.Count == 0)
        {
            sender.Tell(new RegistryCommands.Accepted());
            return;
        }

        var last = decision.Events[^1];
        PersistAll(decision.Events, e =>
        {
            _state = _state.Apply(e);
            SnapshotIfDue();
            if (ReferenceEquals(e, last))
            {
                sender.Tell(new RegistryCommands.Accepted());
            }
        });
    }
}
