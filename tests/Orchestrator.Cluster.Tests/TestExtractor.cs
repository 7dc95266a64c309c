using Orchestrator.Engine.Cluster;

namespace Orchestrator.Cluster.Tests;

/// <summary>The test entity's extractor: one shard per entity, as for disks.</summary>
public sealed class TestExtractor : OneShardPerEntityExtractor
{
    public override string? EntityId(object message) => message is TestEntity.Where where ? where.EntityId : null;
}
