using Akka.Cluster.Sharding;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// A message extractor whose shard id is the entity id (one disk per shard), so the allocation strategy places each
/// disk on its own host. Subclasses say which entity a message is for; ShardRegion.StartEntity (remember-entities) is
/// left to the region, which asks <see cref="ShardId(string, object?)"/>.
/// </summary>
public abstract class OneShardPerEntityExtractor : IMessageExtractor
{
    /// <summary>The entity the message is for, or null when it is not one of this region's messages.</summary>
    public abstract string? EntityId(object message);

    /// <summary>What the entity receives; the message itself unless an envelope is unwrapped.</summary>
    public virtual object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
