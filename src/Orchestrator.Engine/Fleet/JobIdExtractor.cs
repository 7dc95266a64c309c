using Akka.Cluster.Sharding;
using Orchestrator.Domain.Fleet;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Routes the job-id protocol to the entity of its job id, in one of a fixed number of shards (a stable hash of the
/// id), so the shards spread over the members without one shard per id ever used.
/// </summary>
public sealed class JobIdExtractor() : HashCodeMessageExtractor(Shards)
{
    public const int Shards = 64;

    public override string? EntityId(object message) => message switch
    {
        JobIdCommands.Claim c => c.Job.Value,
        JobIdCommands.Release r => r.Job.Value,
        JobIdCommands.Locate l => l.Job.Value,
        _ => null,
    };
}
