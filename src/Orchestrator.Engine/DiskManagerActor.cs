using Akka.Actor;
using Akka.Persistence;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>
/// Owns the node's disk chain actors: forwards each disk command to its disk's actor (creating it on registration),
/// answers questions that span disks, and remembers which disks exist so that after a restart every disk actor is
/// started again, recovers, and resumes its jobs without anyone asking. Its set of disks is snapshotted every
/// <see cref="EngineSettings.SnapshotInterval"/> events.
/// </summary>
public sealed class DiskManagerActor : SnapshottingPersistentActor
{
    // A question to every disk waits this long per disk; a disk that cannot answer (its journal failed to replay,
    // say) is left out instead of failing the answer for all the others.
    private static readonly TimeSpan FanOutTimeout = TimeSpan.FromSeconds(5);
    private readonly EngineSettings _settings;
    private readonly EventHub _events;
    private readonly HashSet<string> _disks = [];

    // Every disk's chain as its actor last reported it: what a new registration must not collide with.
    private readonly Dictionary<string, IReadOnlyList<string>> _chains = [];

    public DiskManagerActor(EngineSettings settings, EventHub events)
        : base(settings.SnapshotInterval)
    {
        _settings = settings;
        _events = events;

        Recover<SnapshotOffer>(offer => Restore((ManagerSnapshot)offer.Snapshot));
        Recover<ManagerEvents.DiskAdded>(e => _disks.Add(e.Disk));
        Recover<ManagerEvents.DiskRemoved>(e => _disks.Remove(e.Disk));
        Recover<RecoveryCompleted>(_ =>
        {
            foreach (var disk in _disks)
            {
                ChildFor(new DiskId(disk));
            }
        });

        Command<EngineMessages.ChainUpdated>(m =>
        {
            if (m.Chain.Count == 0)
            {
                _chains.Remove(m.Disk.Value);
            }
            else
            {
                _chains[m.Disk.Value] = m.Chain;
            }
        });
        Command<EngineMessages.DiskUnregistered>(m => Persist(new ManagerEvents.DiskRemoved(m.Disk.Value), e =>
        {
            _disks.Remove(e.Disk);
            SnapshotIfDue();
        }));
        Command<DiskCommands.Register>(Route);
        Command<IDiskCommand>(RouteToKnown);
        Command<ManagerCommands.ListDisks>(_ => ListDisks());
        Command<ManagerCommands.QueryAllJobs>(_ => AllJobs().PipeTo(Sender));
        Command<ManagerCommands.QueryJob>(q => FindJob(q.Job, (_, info) => new DiskReplies.JobList([info])));
        Command<ManagerCommands.JobVerbById>(v => ForwardVerb(v));
    }

    public override string PersistenceId => "disk-manager";

    public static Props Props(EngineSettings settings, EventHub events) => Akka.Actor.Props.Create(() => new DiskManagerActor(settings, events));

    protected override object SnapshotState() => new ManagerSnapshot(_disks.Order(StringComparer.Ordinal).ToList());

    private void Restore(ManagerSnapshot snapshot)
    {
        _disks.Clear();
        _disks.UnionWith(snapshot.Disks);
    }

    private void Route(DiskCommands.Register command)
    {
        if (IdRule.Problem(command.Disk.Value, "id") is { } problem)
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.InvalidParameter(problem)));
            return;
        }

        var among = new EngineMessages.RegisterAmong(command,
            _chains.Where(kv => kv.Key != command.Disk.Value).ToDictionary(kv => kv.Key, kv => kv.Value));
        if (_disks.Contains(command.Disk.Value))
        {
            ChildFor(command.Disk).Forward(among);
            return;
        }

        // Remember the disk before its actor registers it: after a crash between the two, the manager still
        // restarts the actor, which then knows from its own journal whether the registration happened.
        Persist(new ManagerEvents.DiskAdded(command.Disk.Value), e =>
        {
            _disks.Add(e.Disk);
            SnapshotIfDue();
            ChildFor(command.Disk).Forward(among);
        });
    }

    private void RouteToKnown(IDiskCommand command)
    {
        if (!_disks.Contains(command.Disk.Value))
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"disk '{command.Disk}' is not registered")));
            return;
        }

        ChildFor(command.Disk).Forward(command);
    }

    private IActorRef ChildFor(DiskId disk)
    {
        var name = "disk-" + disk.Value;
        var child = Context.Child(name);
        return child.IsNobody() ? Context.ActorOf(DiskChainActor.Props(disk, _settings, _events), name) : child;
    }

    private void ListDisks()
    {
        var children = _disks.Select(d => ChildFor(new DiskId(d))).ToList();
        Task.WhenAll(children.Select(c => AskOrNull(c, new DiskCommands.Show(new DiskId("?")))))
            .ContinueWith(t => (object)new ManagerCommands.DiskList(t.Result.OfType<DiskReplies.DiskInfo>().Where(i => i.Chain.Count > 0)
                .Select(i => new ManagerCommands.DiskSummary(i.Disk.Value, i.ActivePath, i.Chain.Count, i.Jobs.Count(j => j.Status is not ("concluded" or "null"))))
                .OrderBy(s => s.Disk, StringComparer.Ordinal).ToList()), TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(Sender);
    }

    private Task<object> AllJobs()
    {
        var children = _disks.Select(d => ChildFor(new DiskId(d))).ToList();
        return Task.WhenAll(children.Select(c => AskOrNull(c, new DiskCommands.QueryJobs(new DiskId("?")))))
            .ContinueWith(t => (object)new DiskReplies.JobList(t.Result.OfType<DiskReplies.JobList>().SelectMany(l => l.Jobs)
                .OrderBy(j => j.Device, StringComparer.Ordinal).ToList()), TaskContinuationOptions.ExecuteSynchronously);
    }

    private static Task<object?> AskOrNull(IActorRef disk, object question) =>
        disk.Ask<object>(question, FanOutTimeout).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskContinuationOptions.ExecuteSynchronously);

    private void FindJob(JobId job, Func<string, JobInfo, object> found)
    {
        AllJobs().ContinueWith(t =>
        {
            var info = (t.Result as DiskReplies.JobList)?.Jobs.FirstOrDefault(j => j.Device == job.Value);
            return info is null ? new DiskReplies.Refused(DomainError.NotFound($"Block job '{job}' not found")) : found(info.Disk, info);
        }, TaskContinuationOptions.ExecuteSynchronously).PipeTo(Sender);
    }

    private void ForwardVerb(ManagerCommands.JobVerbById verb)
    {
        var sender = Sender;
        var self = Self;
        AllJobs().ContinueWith(t =>
        {
            var info = (t.Result as DiskReplies.JobList)?.Jobs.FirstOrDefault(j => j.Device == verb.Job.Value);
            if (info is null)
            {
                sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"Block job '{verb.Job}' not found")));
                return;
            }

            self.Tell(new DiskCommands.JobVerbCommand(new DiskId(info.Disk), verb.Job, verb.Verb, verb.Speed), sender);
        }, TaskContinuationOptions.ExecuteSynchronously);
    }
}
