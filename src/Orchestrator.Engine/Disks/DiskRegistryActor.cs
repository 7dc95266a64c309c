using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Fleet;

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
    /// Each host's registry has its own stream, "registry-" and the node name, so the nodes of a cluster can share one
    /// database. It starts with "registry-", which no disk's persistence id ("disk-" and an id) can: a disk named
    /// "registry" or "manager" is only ever "disk-registry" or "disk-manager".
    /// </summary>
    public static string PersistenceIdOf(string host) => "registry-" + host;

    private readonly string _host;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DiskDirectory _directory = new(Context.System);
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

    public override string PersistenceId => PersistenceIdOf(_host);

    public static Props Props(EngineSettings settings, string host) => Akka.Actor.Props.Create(() => new DiskRegistryActor(settings, host));

    protected override object SnapshotState() => _state.ToSnapshot();

    /// <summary>
    /// First start on a journal an earlier version wrote: adopt its one registry (<c>registry-node</c>), then read the
    /// old disk manager's disk list, each once; then serve. A host named "node" already owns that stream.
    /// </summary>
    private void OnRecovered()
    {
        if (!_state.NodeRegistryImported && PersistenceId != NodeRegistryReader.OldPersistenceId)
        {
            Context.Watch(Context.ActorOf(NodeRegistryReader.Props(Self), "node-registry"));
            return;
        }

        ImportLegacyManager();
    }

    private void ImportLegacyManager()
    {
        if (_state.LegacyImported)
        {
            Become(Serving);
            Stash.UnstashAll();
            return;
        }

        Context.Watch(Context.ActorOf(LegacyManagerReader.Props(Self), "legacy-manager"));
    }

    private void Importing()
    {
        CommandSnapshotHousekeeping();
        Command<NodeRegistryReader.Read>(read => Adopt(read.State, Sender));
        Command<LegacyManagerReader.Read>(read => Import(read.Disks, Sender));
        Command<Terminated>(t =>
        {
            // A reader stopped without reporting (its journal could not be replayed): go on with what is known.
            if (t.ActorRef.Path.Name == "node-registry")
            {
                _log.Error("the registry of an earlier version (registry-node) could not be read; its disks are not adopted");
                Adopt(RegistryState.Empty, ActorRefs.Nobody);
                return;
            }

            _log.Error("the old disk manager's journal (disk-manager) could not be read; its disks are not imported");
            Import([], ActorRefs.Nobody);
        });
        CommandAny(_ => Stash.Stash());
    }

    private void Adopt(RegistryState old, IActorRef reader)
    {
        Context.Unwatch(reader);
        var events = _state.DecideAdopt(old, _host).Events;
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            SnapshotIfDue();
            if (e is RegistryEvents.NodeRegistryImported imported)
            {
                _log.Info("adopted {0} disk(s) from the registry of an earlier version (registry-node)", imported.Disks);
                reader.Tell(OldStreamReader.Forget.Instance);
                ImportLegacyManager();
            }
        });
    }

    private void Import(IReadOnlyList<string> disks, IActorRef reader)
    {
        Context.Unwatch(reader);
        PersistAll(_state.DecideImport(disks, _host).Events, e =>
        {
            _state = _state.Apply(e);
            SnapshotIfDue();
            _log.Info("imported {0} disk(s) from the old disk manager's journal", disks.Count);
            reader.Tell(OldStreamReader.Forget.Instance);
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
        Command<RegistryCommands.ListDisks>(_ => Sender.Tell(_state.InStartOrder()));
        Command<LegacyManagerReader.Read>(_ => Sender.Tell(OldStreamReader.Forget.Instance));
        Command<NodeRegistryReader.Read>(_ => Sender.Tell(OldStreamReader.Forget.Instance));
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
            if (e is RegistryEvents.DiskReleased released)
            {
                // The fleet directory forgets it (unless another host took the id meanwhile); a lost update only
                // leaves commands to reach this host, whose disk answers "not registered".
                _ = _directory.RemoveAsync(released.Disk, _host).ContinueWith(t => t.Exception, TaskScheduler.Default);
            }

            if (ReferenceEquals(e, last))
            {
                sender.Tell(new RegistryCommands.Accepted());
            }
        });
    }
}
