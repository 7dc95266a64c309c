using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Allocates each shard (one disk) to the region of the Up member whose role is the disk's host, and never rebalances:
/// a disk's images are on its host's storage, so its entity may run nowhere else. When the host is not Up the answer is
/// a region the coordinator does not know (<see cref="ActorRefs.Nobody"/>), which leaves the shard unallocated: messages
/// wait in the asking region, and remembered shards are allocated again when the host's region registers.
/// </summary>
/// <param name="system">The node's system: the coordinator that uses this instance runs on it, so its membership view is the coordinator's.</param>
public sealed class HostPinnedAllocationStrategy(ActorSystem system, ShardHostLookup hostOf) : IShardAllocationStrategy
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(system);
    private readonly ILoggingAdapter _log = Logging.GetLogger(system, typeof(HostPinnedAllocationStrategy));

    public async Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        var cluster = _cluster;
        var host = await hostOf(shardId).ConfigureAwait(false);
        if (host is null)
        {
            _log.Warning("shard {0} has no registered host; it is not allocated", shardId);
            return ActorRefs.Nobody;
        }

        var address = HostPlacement.UpAddress(host, MemberView.Of(cluster.State));
        var region = address is null ? null : HostPlacement.RegionAt(address, currentShardAllocations.Keys, cluster.SelfAddress);
        if (region is null)
        {
            _log.Info("shard {0} waits for its host {1}, which is not Up with a shard region", shardId, host);
            return ActorRefs.Nobody;
        }

        return region;
    }

    /// <summary>Never: moving a disk off its host would leave it without its storage.</summary>
    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress) =>
        Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
}
