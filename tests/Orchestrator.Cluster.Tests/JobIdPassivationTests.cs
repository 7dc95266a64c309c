using Akka.Actor;
using Akka.Cluster.Sharding;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Disks;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Queries of job ids nobody holds leave nothing behind: each one reaches the id's fleet-wide owner (a persisted
/// entity), which answers "free" and passivates at once instead of staying in memory for its idle time.
/// </summary>
public sealed class JobIdPassivationTests : IDisposable
{
    private readonly TempDirectory _dir = new("job-ids");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_hundred_queries_of_unknown_job_ids_are_answered_not_found_and_leave_no_entity_running()
    {
        await using var cluster = await TestCluster.StartWithEngineAsync(_ => new EngineSettings { StorageRoots = [_dir.Path] }, "n1");
        var node = cluster["n1"];
        for (var i = 0; i < 100; i++)
        {
            var reply = await node.Front.Ask<object>(new ManagerCommands.QueryJob(new JobId($"nobody-{i}")), TimeSpan.FromSeconds(30));
            Assert.Equal("not-found", Assert.IsType<DiskReplies.Refused>(reply).Error.Code);
        }

        var region = ClusterSharding.Get(node.System).ShardRegion(DiskEngine.JobIdRegionName);
        var running = -1;
        await TestCluster.WaitUntilAsync(() =>
        {
            var state = region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            running = state.Shards.Sum(s => s.EntityIds.Count);
            return running == 0;
        }, "the job-id entities of the unknown ids to passivate", TimeSpan.FromSeconds(20));
        Assert.Equal(0, running);
    }
}
