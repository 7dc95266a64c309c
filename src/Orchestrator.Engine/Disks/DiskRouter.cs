using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Fleet;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The node's disk front, the same on every node of the fleet: it finds each disk's host in the
/// <see cref="DiskDirectory"/> and sends the command through a <see cref="HostGateway"/> to the disk's entity in the
/// pinned disk shard region, on that host (an unreachable host is refused at once, never a timeout). Lists and job
/// lookups ask the job id's fleet-wide owner. At start it asks this host's registry which disks it holds, publishes them, and
/// starts their entities here (as remembered entities would, also when the shard store was lost), holding commands
/// until then.
/// </summary>
public sealed class DiskRouter : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    // A list asks every disk; a disk that cannot answer within this time is left out of it.
    private static readonly TimeSpan FanOutTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RegistryTimeout = TimeSpan.FromSeconds(10);

    // A job id's owner lives on some member; past this, the job is looked for in every host's registry instead.
    private static readonly TimeSpan JobIdLookupTimeout = TimeSpan.FromSeconds(2);

    // The API's own timeout ends a request sooner; this only bounds an ask nobody waits for any more.
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private readonly string _host;
    private readonly IActorRef _registry;
    private readonly HostGateway _disks;
    private readonly HostGateway _registries;
    private readonly IActorRef _jobIds;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly DiskDirectory _directory;
    private readonly JobHolderCache _jobHolders = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public DiskRouter(string host, IActorRef registry, IActorRef diskRegion, IActorRef registryRegion, IActorRef jobIds)
    {
        _host = host;
        _registry = registry;
        _jobIds = jobIds;
        _disks = new HostGateway(Context.System, diskRegion);
        _registries = new HostGateway(Context.System, registryRegion);
        _directory = new DiskDirectory(Context.System);
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string host, IActorRef registry, IActorRef diskRegion, IActorRef registryRegion, IActorRef jobIds) =>
        Akka.Actor.Props.Create(() => new DiskRouter(host, registry, diskRegion, registryRegion, jobIds));

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
            Timers.Cancel("list-disks");
            var disks = list.Disks.Select(d => d.Disk).ToList();
            _directory.PublishAsync(disks, _host).ContinueWith(t => new Published(disks, list.HoldingJobs, t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
        });
        Receive<Published>(p =>
        {
            if (p.Problem is not null)
            {
                _log.Warning("publishing this host's {0} disk(s) to the fleet directory did not reach a majority: {1}", p.Disks.Count, p.Problem);
            }

            StartDisks(p.Disks.Take(p.HoldingJobs).ToList(), p.Disks.Skip(p.HoldingJobs).ToList());

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
        Receive<DiskCommands.Register>(c => Reply(Register(c)));
        Receive<IDiskCommand>(c => Reply(ToDisk(c)));
        Receive<ManagerCommands.ListDisks>(_ => Reply(ListDisks()));
        Receive<ManagerCommands.QueryAllJobs>(_ => Reply(AllJobs()));
        Receive<ManagerCommands.QueryJob>(q => Reply(ByJob(q.Job, disk => new DiskCommands.QueryJob(disk, q.Job))));
        Receive<ManagerCommands.JobVerbById>(v => Reply(ByJob(v.Job, disk => new DiskCommands.JobVerbCommand(disk, v.Job, v.Verb, v.Speed))));
        // A late answer to a repeated question at start, and what it led to.
        Receive<RegistryCommands.DiskList>(_ => { });
        Receive<Published>(_ => { });
    }

    /// <summary>
    /// A disk id is unique in the fleet: registered on another host it is refused naming that host. A new disk is put
    /// in the directory first, so its shard can be allocated on its host; a refused registration takes it out again.
    /// </summary>
    private async Task<object> Register(DiskCommands.Register command)
    {
        if (IdRule.Problem(command.Disk.Value, "id") is { } problem)
        {
            return new DiskReplies.Refused(DomainError.InvalidParameter(problem));
        }

        var host = command.Host ?? _host;
        if (ClusterSettings.NodeNameProblem(host) is { } bad)
        {
            return new DiskReplies.Refused(DomainError.InvalidParameter($"host: {bad}"));
        }

        if (_disks.StatusOf(host) != HostStatus.Up)
        {
            throw new HostUnreachableException(host, _disks.StatusOf(host));
        }

        var existing = await _directory.HostOfAsync(command.Disk.Value);
        if (existing is not null && existing != host)
        {
            return new DiskReplies.Refused(DomainError.Conflict($"disk '{command.Disk}' is already registered on host {existing}; disk ids are unique in the fleet"));
        }

        if (existing is null)
        {
            await _directory.PublishAsync(command.Disk.Value, host);
        }

        var reply = await _disks.AskAsync<object>(host, command with { Host = host }, CommandTimeout);
        if (reply is DiskReplies.Refused && existing is null)
        {
            await _directory.RemoveAsync(command.Disk.Value, host);
        }

        return WithHost(reply, host);
    }

    private async Task<object> ToDisk(IDiskCommand command)
    {
        var host = await _directory.HostOfAsync(command.Disk.Value);
        if (host is null)
        {
            return new DiskReplies.Refused(DomainError.NotFound($"disk '{command.Disk}' is not registered"));
        }

        var reply = await _disks.AskAsync<object>(host, command, CommandTimeout);
        if (reply is DiskReplies.JobStarted started)
        {
            _jobHolders.Remember(new JobId(started.Job.Device), command.Disk);
        }

        return WithHost(reply, host);
    }

    /// <summary>A disk's description and its jobs say where they run (the API gives the host's NBD URIs, and a job its host).</summary>
    private static object WithHost(object reply, string host) => reply switch
    {
        DiskReplies.DiskInfo info => info with { Host = host, Jobs = [.. info.Jobs.Select(j => j with { Host = host })] },
        DiskReplies.JobList list => new DiskReplies.JobList([.. list.Jobs.Select(j => j with { Host = host })]),
        DiskReplies.JobStarted started => new DiskReplies.JobStarted(started.Job with { Host = host }),
        _ => reply,
    };

    /// <summary>
    /// Every disk of every Up host, each with its host. A disk that does not answer in time is listed as
    /// <see cref="DiskStates.Unresponsive"/> (its path and jobs unknown), not left out.
    /// </summary>
    private async Task<object> ListDisks()
    {
        var infos = await Gather(disk => new EngineMessages.Summarize(disk));
        return new ManagerCommands.DiskList([.. infos.Where(a => a.Reply is DiskReplies.DiskInfo or null).Select(a => a.Reply is DiskReplies.DiskInfo info
                ? new ManagerCommands.DiskSummary(info.Disk.Value, info.ActivePath, info.Chain.Count,
                    info.Jobs.Count(j => j.Status is not ("concluded" or "null")), info.State, info.Quarantine, a.Host)
                : new ManagerCommands.DiskSummary(a.Disk, "", 0, 0, DiskStates.Unresponsive,
                    $"it did not answer within {FanOutTimeout.TotalSeconds:0} s (its host may be waiting for the journal's database)", a.Host))
            .OrderBy(s => s.Disk, StringComparer.Ordinal)]);
    }

    private async Task<object> AllJobs()
    {
        var lists = await Gather(disk => new DiskCommands.QueryJobs(disk));
        return new DiskReplies.JobList([.. lists.Where(a => a.Reply is DiskReplies.JobList)
            .SelectMany(a => ((DiskReplies.JobList)a.Reply!).Jobs.Select(j => j with { Host = a.Host }))
            .OrderBy(j => j.Device, StringComparer.Ordinal)]);
    }

    /// <summary>Asks every disk of every Up host the question; answers (null: none in time) are paired with the disk and its host.</summary>
    private async Task<IReadOnlyList<(object? Reply, string Disk, string Host)>> Gather(Func<DiskId, IDiskCommand> question)
    {
        var disks = (await _directory.AllAsync()).Where(kv => _disks.StatusOf(kv.Value) == HostStatus.Up).ToList();
        return await Task.WhenAll(disks.Select(async kv =>
        {
            try
            {
                return ((object?)await _disks.AskAsync<object>(kv.Value, question(new DiskId(kv.Key)), FanOutTimeout), kv.Key, kv.Value);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return ((object?)null, kv.Key, kv.Value);
            }
            catch (HostUnreachableException)
            {
                // Its host became unreachable meanwhile: like the disks of hosts that are not Up, it is not listed.
                return ((object?)new DiskReplies.Refused(new DomainError("unavailable", $"host {kv.Value} is unreachable")), kv.Key, kv.Value);
            }
        }));
    }

    /// <summary>
    /// Which disk holds the job: one question to the job id's fleet-wide owner (<see cref="JobIdActor"/>), then one to
    /// that disk. A job the owner does not know (started by an earlier version, before ids were claimed fleet-wide, and
    /// not yet claimed again by its disk's recovery) is looked for in each Up host's registry.
    /// </summary>
    private async Task<object> ByJob(JobId job, Func<DiskId, IDiskCommand> then)
    {
        var notFound = new DiskReplies.Refused(DomainError.NotFound($"Block job '{IdRule.Printable(job.Value)}' not found"));
        if (IdRule.Problem(job.Value, "job-id") is not null)
        {
            return notFound;
        }

        if (_jobHolders.HolderOf(job) is { } known)
        {
            try
            {
                var reply = await ToDisk(then(known));
                if (reply is not DiskReplies.Refused { Error.Code: "not-found" })
                {
                    return reply;
                }
            }
            catch (HostUnreachableException)
            {
                // The id may have been dismissed there and taken by a disk elsewhere since: its owner knows.
            }

            _jobHolders.Forget(job, known);
        }

        try
        {
            var owner = await _jobIds.Ask<Domain.Fleet.JobIdCommands.Located>(new Domain.Fleet.JobIdCommands.Locate(job), JobIdLookupTimeout);
            if (owner.Holder is { } holder)
            {
                _jobHolders.Remember(job, new DiskId(holder.Disk));
                return await ToDisk(then(new DiskId(holder.Disk)));
            }
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            _log.Warning("job id '{0}': its fleet-wide owner did not answer within {1} s; asking every host", IdRule.Printable(job.Value), JobIdLookupTimeout.TotalSeconds);
        }

        return await ByJobFromEveryHost(job, then, notFound);
    }

    private async Task<object> ByJobFromEveryHost(JobId job, Func<DiskId, IDiskCommand> then, DiskReplies.Refused notFound)
    {
        // After an await: no actor context here, so the cluster is the one found at construction.
        var hosts = _cluster.State.Members.Select(m => SharedRoots.NodeNameOf(m.Roles)).OfType<string>()
            .Where(host => _registries.StatusOf(host) == HostStatus.Up).Distinct().ToList();
        var located = await Task.WhenAll(hosts.Select(async host =>
        {
            try
            {
                return await _registries.AskAsync<RegistryCommands.Located>(host, new RegistryEnvelope(host, new RegistryCommands.Locate(job)), RegistryTimeout);
            }
            catch (Exception e) when (e is AskTimeoutException or HostUnreachableException or TaskCanceledException)
            {
                return null;
            }
        }));
        return located.FirstOrDefault(l => l?.Disk is not null)?.Disk is { } disk ? await ToDisk(then(disk)) : notFound;
    }

    /// <summary>Answers the sender with the task's result; an unreachable host or a lost answer is a refusal naming it.</summary>
    private void Reply(Task<object> work)
    {
        work.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : Refusal(t.Exception!.GetBaseException()), TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(Sender);
    }

    private static DiskReplies.Refused Refusal(Exception error) => error switch
    {
        HostUnreachableException unreachable => new(new DomainError("unavailable", unreachable.Message)),
        AskTimeoutException or TaskCanceledException => new(new DomainError("timeout", $"the disk's host did not answer: {error.Message}")),
        _ => new(new DomainError("internal", error.Message)),
    };

    /// <summary>
    /// Starts this host's disk entities, those that hold a job first: sharding allocates the shards of a burst of
    /// StartEntity messages one at a time and not in the order they were sent, so with a thousand idle disks a merge
    /// resumed 2.7-6.4 s after the process started (now 3.0-3.6 s). The others are asked for once the first are started
    /// (acknowledged), or their time ran out.
    /// </summary>
    private void StartDisks(IReadOnlyList<string> first, IReadOnlyList<string> rest)
    {
        var region = _disks.Region;
        var started = first.Select(disk => region.Ask<object>(new ShardRegion.StartEntity(disk), RegistryTimeout));
        Task.WhenAll(started).ContinueWith(t =>
        {
            if (t.Exception is { } problem)
            {
                _log.Warning("{0} disk(s) holding a job were not started within {1} s ({2}); starting the other {3} anyway",
                    first.Count, RegistryTimeout.TotalSeconds, problem.GetBaseException().Message, rest.Count);
            }

            foreach (var disk in rest)
            {
                // No sender: the acknowledgement is of no use here.
                region.Tell(new ShardRegion.StartEntity(disk), ActorRefs.NoSender);
            }
        }, TaskScheduler.Default);
    }

    /// <summary>This host's disks are in the directory (or the write was tried); their entities can start, the first <paramref name="HoldingJobs"/> first.</summary>
    private sealed record Published(IReadOnlyList<string> Disks, int HoldingJobs, string? Problem);
}
