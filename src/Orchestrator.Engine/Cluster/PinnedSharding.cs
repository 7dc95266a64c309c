using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Starts a shard region whose shards are pinned to their hosts (<see cref="HostPinnedAllocationStrategy"/>) and whose
/// entities are remembered, so an entity with running work restarts on its host when the host comes back, without a
/// command. Akka.Cluster.Hosting's WithShardRegion takes no custom strategy, hence the direct call.
/// </summary>
public static class PinnedSharding
{
    /// <param name="handOffStopMessage">What an entity receives when its shard stops (shutdown): it stops itself after a checkpoint.</param>
    /// <param name="remember">
    /// False for entities that something else starts on their host (each host's registry, which its front asks at
    /// start): the node then starts without reading remembered shards from the journal for them.
    /// </param>
    public static Task<IActorRef> StartAsync(ActorSystem system, string typeName, Func<string, Props> entityProps,
        OneShardPerEntityExtractor extractor, ShardHostLookup hostOf, object handOffStopMessage, bool remember = true)
    {
        // The extension first: it adds sharding's default configuration, which the settings read.
        var sharding = ClusterSharding.Get(system);
        var settings = ClusterShardingSettings.Create(system).WithRememberEntities(remember);
        return sharding.StartAsync(typeName, entityProps, settings, extractor, new HostPinnedAllocationStrategy(system, hostOf), handOffStopMessage);
    }
}
