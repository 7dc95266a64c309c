using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Cluster;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// How a message finds its disk's entity in the disk shard region: the entity id is the disk id of an
/// <see cref="IDiskCommand"/>, which is also its shard id (one disk per shard, each pinned to its host); the message
/// goes unchanged.
/// </summary>
public sealed class DiskMessageExtractor : OneShardPerEntityExtractor
{
    public override string? EntityId(object message) => message is IDiskCommand command ? command.Disk.Value : null;

    /// <summary>The persistence id of a disk entity.</summary>
    public static string EntityName(string entityId) => "disk-" + entityId;
}
