using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// One in-process cluster node: its own ActorSystem on a fixed loopback port, the cluster HOCON the node uses, the
/// journal on the test's PostgreSQL database, and a pinned shard region of <see cref="TestEntity"/>.
/// </summary>
public sealed class ClusterNode
{
    /// <summary>Short enough for tests, long enough that two loaded cores do not make members unreachable by themselves.</summary>
    private static readonly Config TestOverrides = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        # The throttler lets a test blackhole the link between two nodes (Akka.Remote's transport adapter).
        akka.remote.dot-netty.tcp.applied-adapters = [trttl]
        akka.cluster.sharding.retry-interval = 500ms
        """);

    private ClusterNode(ClusterSettings settings, ActorSystem system, HostGateway gateway)
    {
        Settings = settings;
        System = system;
        Gateway = gateway;
    }

    public ClusterSettings Settings { get; }

    public string Name => Settings.NodeName;

    public ActorSystem System { get; }

    public HostGateway Gateway { get; }

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    public static async Task<ClusterNode> StartAsync(ClusterSettings settings, JournalSettings journal, ShardHostLookup hosts, ConcurrentQueue<TestEntity.EntityStart> starts)
    {
        var config = TestOverrides.WithFallback(ClusterHocon.For(settings)).WithFallback(journal.ToConfig());
        var system = ActorSystem.Create(ClusterSettings.SystemName, config);
        ClusterJoin.Start(system, settings);
        var region = await PinnedSharding.StartAsync(system, "test-entity", id => TestEntity.Props(id, starts), new TestExtractor(), hosts, new TestEntity.Stop());
        return new ClusterNode(settings, system, new HostGateway(system, region));
    }

    /// <summary>Drops (or, with <paramref name="blackhole"/> false, restores) all traffic between this node and <paramref name="other"/>, both ways.</summary>
    public async Task BlackholeAsync(ClusterNode other, bool blackhole = true)
    {
        var transport = ((RemoteActorRefProvider)((ExtendedActorSystem)System).Provider).Transport;
        ThrottleMode mode = blackhole ? Blackhole.Instance : Unthrottled.Instance;
        var done = await transport.ManagementCommand(new SetThrottle(other.Address, ThrottleTransportAdapter.Direction.Both, mode));
        if (!done)
        {
            throw new InvalidOperationException($"the throttler refused to change the link {Name} -> {other.Name}");
        }
    }

    public Task StopAsync() => System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
}
