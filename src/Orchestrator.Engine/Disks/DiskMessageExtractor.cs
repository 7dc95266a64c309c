using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// How a message finds its disk's entity: the entity id is the disk id of an <see cref="IDiskCommand"/>, the message
/// goes unchanged. It has the shape of Akka.Cluster.Sharding's message extractor so a shard region can replace the
/// node's local <see cref="DiskRouter"/> with little change.
/// </summary>
public sealed class DiskMessageExtractor(int maxShards = 100)
{
    public string? EntityId(object message) => message is IDiskCommand command ? command.Disk.Value : null;

    public object? EntityMessage(object message) => message is IDiskCommand ? message : null;

    /// <summary>A stable hash (not string.GetHashCode, which differs per process) of the entity id.</summary>
    public string ShardId(string entityId)
    {
        var hash = 17u;
        foreach (var c in entityId)
        {
            hash = unchecked((hash * 31) + c);
        }

        return (hash % (uint)maxShards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The child actor name (and persistence id) of a disk entity.</summary>
    public static string EntityName(string entityId) => "disk-" + entityId;
}
