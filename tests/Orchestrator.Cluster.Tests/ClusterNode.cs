using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using Orchestrator.Engine;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Disks;
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

    private ClusterNode(ClusterSettings settings, ActorSystem system, HostGateway gateway, IActorRef? front, LocalDisks disks, EventHub events)
    {
        Disks = disks;
        Events = events;
        Settings = settings;
        System = system;
        Gateway = gateway;
        _front = front;
    }

    private readonly IActorRef? _front;

    /// <summary>The disks whose chains are open on this node (their entities run here).</summary>
    public LocalDisks Disks { get; }

    /// <summary>The QMP events of the disks that run on this node.</summary>
    public EventHub Events { get; }

    /// <summary>The node's disk front (the engine's, as the API asks it); only on a node started with an engine.</summary>
    public IActorRef Front => _front ?? throw new InvalidOperationException($"node {Name} was started without the engine");

    public ClusterSettings Settings { get; }

    public string Name => Settings.NodeName;

    public ActorSystem System { get; }

    public HostGateway Gateway { get; }

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;

    /// <param name="engine">When given, the real engine runs on the node too (its disk and registry regions, and its front).</param>
    public static async Task<ClusterNode> StartAsync(ClusterSettings settings, JournalSettings journal, ShardHostLookup hosts, ConcurrentQueue<TestEntity.EntityStart> starts,
        EngineSettings? engine = null)
    {
        var config = TestOverrides.WithFallback(ClusterHocon.For(settings)).WithFallback(journal.ToConfig()).WithFallback(Engine.Persistence.WireSerialization.Config);
        var system = ActorSystem.Create(ClusterSettings.SystemName, config);
        ClusterJoin.Start(system, settings);
        var region = await PinnedSharding.StartAsync(system, "test-entity", id => TestEntity.Props(id, starts), new TestExtractor(), hosts, new TestEntity.Stop());
        var disks = new LocalDisks();
        var events = new EventHub();
        var front = engine is null ? null : DiskEngine.Start(system, engine, events, disks, settings.NodeName).Front;
        return new ClusterNode(settings, system, new HostGateway(system, region), front, disks, events);
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

    /// <summary>Asks the node's disk front, as the API does; fails naming the answer when it is not a <typeparamref name="T"/>.</summary>
    public async Task<T> AskFrontAsync<T>(object message)
    {
        var reply = await Front.Ask<object>(message, TimeSpan.FromSeconds(30));
        return reply is T typed ? typed : throw new InvalidOperationException($"{Name} answered {reply} to {message}, not a {typeof(T).Name}");
    }

    /// <summary>The job <paramref name="id"/> as this node's front answers a query of it (a blocking call, for polls).</summary>
    public Domain.Jobs.JobInfo JobNow(string id) =>
        AskFrontAsync<Domain.Disks.DiskReplies.JobList>(new Domain.Disks.ManagerCommands.QueryJob(new Domain.JobId(id))).GetAwaiter().GetResult().Jobs.Single();

    public Task StopAsync() => System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
}
