using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The node's disk front: creates each disk's entity (a <see cref="DiskChainActor"/>) by the entity id the
/// <see cref="DiskMessageExtractor"/> finds, and forwards its commands; a shard region takes this place under the
/// fleet. At start it asks the registry which disks exist and starts them (as sharding's remembered entities would),
/// holding commands until then. Questions by job id take one message to the registry and one to the disk.
/// </summary>
public sealed class DiskRouter : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    // A list asks every disk; a disk that cannot answer within this time is left out of it.
    private static readonly TimeSpan FanOutTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RegistryTimeout = TimeSpan.FromSeconds(10);
    private readonly EngineSettings _settings;
    private readonly IActorRef _registry;
    private readonly DiskMessageExtractor _extractor = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly EngineLocal _local = EngineLocal.Of(Context.System);

    public DiskRouter(EngineSettings settings, IActorRef registry)
    {
        _settings = settings;
        _registry = registry;
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(EngineSettings settings, IActorRef registry) => Akka.Actor.Props.Create(() => new DiskRouter(settings, registry));

    /// <summary>
    /// The registry answers once it has recovered (and imported an old journal): that may take a while on a busy
    /// machine, so the question is told, not asked with a timeout, and repeated now and then in case it was lost.
    /// </summary>
    protected override void PreStart()
    {
        _registry.Tell(new RegistryCommands.ListDisks());
        Timers.StartPeriodicTimer("list-disks", new RegistryCommands.ListDisks(), RegistryTimeout);
    }

    private void Starting()
    {
        Receive<RegistryCommands.DiskList>(list =>
        {
            foreach (var disk in list.Disks)
            {
                EntityFor(disk.Disk, create: true);
            }

            Timers.Cancel("list-disks");
            Become(Routing);
            Stash.UnstashAll();
        });
        Receive<RegistryCommands.ListDisks>(ask =>
        {
            _log.Warning("the disk registry has not listed the disks after {0} s; asking again", RegistryTimeout.TotalSeconds);
            _registry.Tell(ask);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Routing()
    {
        Receive<DiskCommands.Register>(c =>
        {
            if (IdRule.Problem(c.Disk.Value, "id") is { } problem)
            {
                Sender.Tell(new DiskReplies.Refused(DomainError.InvalidParameter(problem)));
                return;
            }

            EntityFor(c.Disk.Value, create: true).Forward(c);
        });
        Receive<IDiskCommand>(c =>
        {
            if (EntityFor(_extractor.EntityId(c)!, create: false) is not { } entity)
            {
                Sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"disk '{c.Disk}' is not registered")));
                return;
            }

            entity.Forward(_extractor.EntityMessage(c)!);
        });
        Receive<RegistryCommands.DiskList>(_ => { }); // a late answer to a repeated question at start
        Receive<ManagerCommands.ListDisks>(_ => ListDisks());
        Receive<ManagerCommands.QueryAllJobs>(_ => AllJobs());
        Receive<ManagerCommands.QueryJob>(q => Locate(q.Job, disk => new DiskCommands.QueryJob(disk, q.Job)));
        Receive<ManagerCommands.JobVerbById>(v => Locate(v.Job, disk => new DiskCommands.JobVerbCommand(disk, v.Job, v.Verb, v.Speed)));
        Receive<Located>(l =>
        {
            if (l.Disk is null || EntityFor(l.Disk.Value, create: false) is not { } entity)
            {
                Sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"Block job '{l.Job}' not found")));
                return;
            }

            entity.Forward(l.Then(l.Disk));
        });

        Receive<Terminated>(t =>
        {
            var disk = DiskOf(t.ActorRef);
            if (_local.RecoveryFailures.TryRemove(disk.Value, out var reason))
            {
                _log.Error("disk {0} is quarantined: {1}", disk, reason);
                Context.ActorOf(QuarantinedDisk.Props(disk, reason), t.ActorRef.Path.Name);
            }
        });

        // A lookup whose registry question failed: the refusal arrives with the asker as sender.
        Receive<DiskReplies.Refused>(r => Sender.Tell(r));
    }

    private IActorRef? EntityFor(string entityId, bool create)
    {
        var name = DiskMessageExtractor.EntityName(entityId);
        var child = Context.Child(name);
        if (!child.IsNobody())
        {
            return child;
        }

        if (!create)
        {
            return null;
        }

        var entity = Context.ActorOf(DiskChainActor.Props(new DiskId(entityId), _settings, _registry), name);
        Context.Watch(entity);
        return entity;
    }

    /// <summary>One question to the registry: which disk holds the job; the answer comes back here with the asker as sender.</summary>
    private void Locate(JobId job, Func<DiskId, IDiskCommand> then)
    {
        if (IdRule.Problem(job.Value, "job-id") is not null)
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.NotFound($"Block job '{IdRule.Printable(job.Value)}' not found")));
            return;
        }

        _registry.Ask<RegistryCommands.Located>(new RegistryCommands.Locate(job), RegistryTimeout)
            .PipeTo(Self, Sender, located => new Located(job, located.Disk, then),
                e => new DiskReplies.Refused(new DomainError("timeout", $"the disk registry did not answer: {e.Message}")));
    }

    private void ListDisks()
    {
        var disks = Context.GetChildren().ToList();
        Task.WhenAll(disks.Select(d => AskOrNull(d, new EngineMessages.Summarize(DiskOf(d)))))
            .ContinueWith(t => (object)new ManagerCommands.DiskList([.. t.Result.OfType<DiskReplies.DiskInfo>()
                .Select(i => new ManagerCommands.DiskSummary(i.Disk.Value, i.ActivePath, i.Chain.Count,
                    i.Jobs.Count(j => j.Status is not ("concluded" or "null")), i.State, i.Quarantine))
                .OrderBy(s => s.Disk, StringComparer.Ordinal)]), TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(Sender);
    }

    private void AllJobs()
    {
        var disks = Context.GetChildren().ToList();
        Task.WhenAll(disks.Select(d => AskOrNull(d, new DiskCommands.QueryJobs(DiskOf(d)))))
            .ContinueWith(t => (object)new DiskReplies.JobList([.. t.Result.OfType<DiskReplies.JobList>().SelectMany(l => l.Jobs)
                .OrderBy(j => j.Device, StringComparer.Ordinal)]), TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(Sender);
    }

    private static DiskId DiskOf(IActorRef entity) => new(entity.Path.Name["disk-".Length..]);

    private static Task<object?> AskOrNull(IActorRef disk, object question) =>
        disk.Ask<object>(question, FanOutTimeout).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskContinuationOptions.ExecuteSynchronously);

    /// <summary>The registry's answer to a lookup by job id, with what to ask the disk that holds the job.</summary>
    private sealed record Located(JobId Job, DiskId? Disk, Func<DiskId, IDiskCommand> Then);
}
