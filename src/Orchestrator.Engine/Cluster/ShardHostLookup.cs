namespace Orchestrator.Engine.Cluster;

/// <summary>
/// The host (node name) a shard belongs on, from the registry's host field; null when the shard is unknown. Shard id =
/// entity id = disk id, one disk per shard.
/// </summary>
public delegate ValueTask<string?> ShardHostLookup(string shardId);
