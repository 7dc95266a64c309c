using System.Diagnostics;
using Akka.Cluster;
using Orchestrator.Engine.Cluster;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Cluster.Tests.TestEntity;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Three nodes in one process, one cluster, the journal on PostgreSQL: every entity runs on its host whichever node
/// asks, a host that is gone or cut off is answered for at once, remembered entities come back on their host by
/// themselves, and a partition is settled by the split-brain resolver (keep-majority) as docs/operations.md says.
/// </summary>
public sealed class PinnedShardingTests(ITestOutputHelper output) : ClusterTestKit(output)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan FastAnswer = TimeSpan.FromSeconds(2);

    /// <summary>Asks <paramref name="disk"/>, from <paramref name="from"/>, where it runs (through its host's status check).</summary>
    private static async Task<string> WhereFrom(TestCluster cluster, string from, string disk) =>
        (await cluster[from].Gateway.AskAsync<Here>(cluster.Hosts[disk], new Where(disk), AskTimeout)).Node;

    /// <summary>Three nodes, with <paramref name="hosts"/> (disk, host) registered.</summary>
    private static async Task<TestCluster> ThreeNodesAsync(params (string Disk, string Host)[] hosts)
    {
        var cluster = await TestCluster.StartAsync("n1", "n2", "n3");
        foreach (var (disk, host) in hosts)
        {
            cluster.Hosts[disk] = host;
        }

        return cluster;
    }

    [Fact]
    public async Task Commands_from_every_node_reach_each_entity_on_its_host()
    {
        await using var cluster = await ThreeNodesAsync(("d1", "n1"), ("d2", "n2"), ("d3", "n3"), ("d4", "n2"), ("d5", "n3"));
        string[] nodes = ["n1", "n2", "n3"];

        foreach (var from in nodes)
        {
            foreach (var (disk, host) in cluster.Hosts.OrderBy(h => h.Key))
            {
                var here = await WhereFrom(cluster, from, disk);
                Assert.True(here == host, $"{disk} asked from {from} answered from {here}, but its host is {host}");
            }
        }

        // One start per entity, each on its host: no entity was ever started anywhere else.
        var starts = cluster.Starts.ToList();
        Output.WriteLine(string.Join(", ", starts.Select(s => $"{s.EntityId}@{s.Node}")));
        Assert.Equal(cluster.Hosts.OrderBy(h => h.Key).Select(h => $"{h.Key}@{h.Value}"), starts.Select(s => $"{s.EntityId}@{s.Node}").Order());
    }

    [Fact]
    public async Task A_stopped_host_is_answered_for_within_2_s_and_its_remembered_entity_restarts_there_by_itself()
    {
        await using var cluster = await ThreeNodesAsync(("d1", "n1"), ("d3", "n3"));
        Assert.Equal("n3", await WhereFrom(cluster, "n1", "d3"));
        var first = cluster.Starts.Single(s => s.EntityId == "d3");
        var n1Sees = MemberEventsOn(cluster["n1"]);

        await cluster["n3"].StopAsync();
        foreach (var from in new[] { "n1", "n2" })
        {
            var clock = Stopwatch.StartNew();
            var refused = await Assert.ThrowsAsync<HostUnreachableException>(() => cluster[from].Gateway.AskAsync<Here>("n3", new Where("d3"), AskTimeout));
            Output.WriteLine($"from {from}: '{refused.Message}' after {clock.ElapsedMilliseconds} ms");
            Assert.True(clock.Elapsed < FastAnswer, $"{from} took {clock.ElapsedMilliseconds} ms to say n3 is unreachable");
            Assert.Contains("host n3 is unreachable", refused.Message, StringComparison.Ordinal);
            Assert.Contains("its jobs resume when it returns", refused.Message, StringComparison.Ordinal);
        }

        // The other hosts are not affected, and n3 left cleanly (its coordinated shutdown), not downed.
        Assert.Equal("n1", await WhereFrom(cluster, "n2", "d1"));
        var left = await ExpectMemberEventAsync<ClusterEvent.MemberRemoved>(n1Sees, "n3", TimeSpan.FromSeconds(30));
        Assert.Equal(MemberStatus.Exiting, left.PreviousStatus);

        // n3 comes back (same address, new incarnation): nobody sends d3 anything, yet it starts again on n3.
        await cluster.StartNodeAsync("n3");
        await cluster.WaitAllUpAsync(["n1", "n2", "n3"], TimeSpan.FromSeconds(60));
        await ExpectMemberEventAsync<ClusterEvent.MemberUp>(n1Sees, "n3", TimeSpan.FromSeconds(30));
        await EventuallyAsync(
            () => Assert.True(cluster.Starts.Any(s => s.EntityId == "d3" && s.Incarnation != first.Incarnation),
                "d3 did not restart by itself on the returned n3 (remember-entities)"),
            TimeSpan.FromSeconds(60));
        var again = cluster.Starts.Last(s => s.EntityId == "d3");
        Assert.Equal("n3", again.Node);
        Assert.Equal("n3", await WhereFrom(cluster, "n1", "d3"));
    }

    [Fact]
    public async Task A_partition_is_settled_by_keep_majority_the_cut_off_host_is_answered_for_at_once_and_downs_itself()
    {
        await using var cluster = await ThreeNodesAsync(("d2", "n2"), ("d3", "n3"));
        Assert.Equal("n3", await WhereFrom(cluster, "n1", "d3"));
        Assert.Equal("n2", await WhereFrom(cluster, "n1", "d2"));
        var n1Sees = MemberEventsOn(cluster["n1"]);
        var n2Sees = MemberEventsOn(cluster["n2"]);

        // Cut n3 off from n1 and n2, both ways, at every end (the throttler drops what crosses the link).
        var clock = Stopwatch.StartNew();
        foreach (var (a, b) in new[] { ("n1", "n3"), ("n2", "n3"), ("n3", "n1"), ("n3", "n2") })
        {
            await cluster[a].BlackholeAsync(cluster[b]);
        }

        await ExpectMemberEventAsync<ClusterEvent.UnreachableMember>(n1Sees, "n3", TimeSpan.FromSeconds(30));
        await EventuallyAsync(() => Assert.NotEqual(HostStatus.Up, cluster["n1"].Gateway.StatusOf("n3")), TimeSpan.FromSeconds(5));
        Output.WriteLine($"n1 saw n3 unreachable {clock.ElapsedMilliseconds} ms after the cut");
        var askClock = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<HostUnreachableException>(() => cluster["n1"].Gateway.AskAsync<Here>("n3", new Where("d3"), AskTimeout));
        Assert.True(askClock.Elapsed < FastAnswer, $"n1 took {askClock.ElapsedMilliseconds} ms to answer for the cut-off n3");
        Assert.Equal("host n3 is unreachable; its jobs resume when it returns", refused.Message);

        // The majority side keeps working meanwhile.
        Assert.Equal("n2", await WhereFrom(cluster, "n1", "d2"));

        // keep-majority: after stable-after, n1 and n2 (2 of 3) down n3; n3, alone, downs itself and its system stops.
        var n3 = cluster["n3"].System;
        await n3.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(60));
        Output.WriteLine($"n3 downed itself {clock.ElapsedMilliseconds} ms after the cut");

        // Its process would exit with 75 naming why, so that a service manager starts it again.
        Assert.Equal("node n3 was downed and removed from the cluster (the split-brain resolver, or an operator)",
            ClusterExit.Reason(n3, cluster["n3"].Settings));
        foreach (var (survivor, sees) in new[] { ("n1", n1Sees), ("n2", n2Sees) })
        {
            // Removed after Down: the resolver's decision, not a leave.
            var removed = await ExpectMemberEventAsync<ClusterEvent.MemberRemoved>(sees, "n3", TimeSpan.FromSeconds(60));
            Assert.True(removed.PreviousStatus == MemberStatus.Down, $"{survivor} saw n3 removed from {removed.PreviousStatus}, not from Down");
            await EventuallyAsync(() => Assert.Equal(HostStatus.Absent, cluster[survivor].Gateway.StatusOf("n3")), TimeSpan.FromSeconds(10));
        }

        Assert.Equal(MemberStatus.Up, Akka.Cluster.Cluster.Get(cluster["n1"].System).SelfMember.Status);
        Assert.Equal(MemberStatus.Up, Akka.Cluster.Cluster.Get(cluster["n2"].System).SelfMember.Status);
        Assert.Contains("not a member", (await Assert.ThrowsAsync<HostUnreachableException>(
            () => cluster["n2"].Gateway.AskAsync<Here>("n3", new Where("d3"), AskTimeout))).Message, StringComparison.Ordinal);
    }
}
