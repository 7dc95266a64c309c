using Akka.Actor;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Fleet;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Starts the engine in an actor system that is a cluster member (a single node is a cluster of one): its local
/// services, the two pinned shard regions (each host's registry, entity id = node name; each disk, entity id = disk id,
/// on its host), this host's registry proxy, and the disk front (router) the API talks to.
/// </summary>
public static class DiskEngine
{
    /// <summary>The actor name of the disk front, which the API and the tests address.</summary>
    public const string FrontName = "disks";

    public const string RegistryName = "registry";

    /// <summary>The shard region type names (also the remembered entities' stores).</summary>
    public const string DiskRegionName = "disk";

    public const string RegistryRegionName = "registry";

    /// <summary>The shard region of the job ids' fleet-wide owners (<see cref="JobIdActor"/>).</summary>
    public const string JobIdRegionName = "job-ids";

    /// <summary>The actor name of the shared-storage failover (only on a node that declares shared roots).</summary>
    public const string FailoverName = "shared-storage-failover";

    /// <summary>
    /// How long a downed host's disks wait before they move: the resolver's stable-after (the downed side decides to
    /// down itself after as long as the survivors took to down it) plus the shard hand-off's timeout (within which its
    /// shutdown closes the disks' images).
    /// </summary>
    public static TimeSpan FailoverMargin(ActorSystem system) =>
        system.Settings.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(7))
        + system.Settings.Config.GetTimeSpan("akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout", TimeSpan.FromSeconds(10));

    /// <param name="host">This node's name (its cluster role): each disk's host, and its registry's entity id.</param>
    /// <returns>The front, and this host's registry (a proxy to its entity).</returns>
    public static (IActorRef Front, IActorRef Registry) Start(ActorSystem system, EngineSettings settings, EventHub events, LocalDisks disks, string host)
    {
        if (system is not ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider })
        {
            throw new InvalidOperationException("the engine runs in a cluster member: configure akka.actor.provider = cluster (ClusterHocon) and join (ClusterJoin)");
        }

        var local = EngineLocal.Install(system, events, disks);
        Persistence.EventLog.Start(system, events, host);
        var directory = new DiskDirectory(system);
        var registries = PinnedSharding.StartAsync(system, RegistryRegionName, id => DiskRegistryActor.Props(settings, id),
            new RegistryExtractor(), id => ValueTask.FromResult<string?>(id), PoisonPill.Instance, remember: false).GetAwaiter().GetResult();
        // Job ids' owners, fleet-wide: one entity per id on any member (default allocation, not pinned, not remembered).
        var jobIds = Akka.Cluster.Sharding.ClusterSharding.Get(system).StartAsync(JobIdRegionName, id => JobIdActor.Props(settings, id),
            Akka.Cluster.Sharding.ClusterShardingSettings.Create(system).WithRememberEntities(false), new JobIdExtractor()).GetAwaiter().GetResult();
        var registry = system.ActorOf(RegistryProxy.Props(host, registries, jobIds), RegistryName);

        // On its host, a disk whose journal could not be replayed stops in recovery; sharding starts it again, and it
        // comes back as a QuarantinedDisk that shows why. Not remembered: the front starts every disk of its host from
        // the registry (the durable record) at start. Remembered, each of a host's disks (one shard each) restored its
        // own entity store from the journal at once; with 1,000 disks most missed their 5 s and backed off, and the
        // last disk came back after 70-90 s. (Their allocations also came before the fleet directory knew the disks:
        // a warning per disk, then a retry.)
        var diskRegion = PinnedSharding.StartAsync(system, DiskRegionName,
            id => local.RecoveryFailures.TryGetValue(id, out var reason)
                ? QuarantinedDisk.Props(new Domain.DiskId(id), reason)
                : DiskChainActor.Props(new Domain.DiskId(id), settings, registry),
            new DiskMessageExtractor(), id => new ValueTask<string?>(directory.HostOfAsync(id)), EngineMessages.HandOff.Instance, remember: false).GetAwaiter().GetResult();
        var front = system.ActorOf(DiskRouter.Props(host, registry, diskRegion, registries, jobIds), FrontName);
        if (SharedRoots.Of(Akka.Cluster.Cluster.Get(system).SelfRoles).Count > 0)
        {
            system.ActorOf(SharedStorageFailover.Props(host, settings, registry, diskRegion, FailoverMargin(system)), FailoverName);
        }

        return (front, registry);
    }
}
