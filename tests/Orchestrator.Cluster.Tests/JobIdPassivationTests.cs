using Akka.Actor;
using Akka.Cluster.Sharding;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Disks;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Queries of job ids nobody holds leave nothing behind: each one reaches the id's fleet-wide owner (a persisted
/// entity), which answers "free" and passivates at once instead of staying in memory for its idle time.
/// </summary>
public sealed class JobIdPassivationTests(ITestOutputHelper output) : ClusterTestKit(output, "job-ids")
{
    [Fact]
    public async Task A_hundred_queries_of_unknown_job_ids_are_answered_not_found_and_leave_no_entity_running()
    {
        await using var cluster = await TestCluster.StartWithEngineAsync(_ => new EngineSettings { StorageRoots = [Files.Path] }, "n1");
        var node = cluster["n1"];
        for (var i = 0; i < 100; i++)
        {
            var reply = await node.Front.Ask<object>(new ManagerCommands.QueryJob(new JobId($"nobody-{i}")), TimeSpan.FromSeconds(30));
            Assert.Equal("not-found", Assert.IsType<DiskReplies.Refused>(reply).Error.Code);
        }

        var region = ClusterSharding.Get(node.System).ShardRegion(DiskEngine.JobIdRegionName);
        var probe = CreateTestProbe(node.System);
        await EventuallyAsync(() =>
        {
            probe.Send(region, GetShardRegionState.Instance);
            var state = probe.ExpectMsg<CurrentShardRegionState>(TimeSpan.FromSeconds(10));
            Assert.True(state.Shards.Sum(s => s.EntityIds.Count) == 0,
                $"job-id entities still running: {string.Join(", ", state.Shards.SelectMany(s => s.EntityIds))}");
        }, TimeSpan.FromSeconds(20));
    }
}
