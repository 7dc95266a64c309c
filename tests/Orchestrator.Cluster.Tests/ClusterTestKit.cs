using Akka.Cluster;
using Akka.TestKit;
using Orchestrator.Testing;
using Xunit.Abstractions;
using static Akka.Cluster.ClusterEvent;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Akka's TestKit for the in-process multi-node tests. Its own system is an observer outside the cluster; the test
/// probes it gives live on the nodes' systems, so a test watches a node's own view of the cluster (who it sees
/// unreachable, removed, up) as messages, and waits for conditions with the TestKit's AwaitAssert, which fails with the
/// last assertion's message. A test's files go in <see cref="Files"/>, removed with the test.
/// </summary>
public abstract class ClusterTestKit(ITestOutputHelper output, string filesPrefix = "cluster")
    : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private TempDirectory? _files;

    /// <summary>The test's own folder, made on first use.</summary>
    protected TempDirectory Files => _files ??= new TempDirectory(filesPrefix);

    /// <summary>The folder <paramref name="name"/> under <see cref="Files"/>, made if needed (a node's storage root, a chain's folder).</summary>
    protected string Folder(string name) => Directory.CreateDirectory(Files.Combine(name)).FullName;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _files?.Dispose();
        }
    }

    /// <summary>A probe on <paramref name="node"/> that receives the member events <paramref name="node"/> itself sees from now on.</summary>
    protected TestProbe MemberEventsOn(ClusterNode node)
    {
        var probe = CreateTestProbe(node.System, $"member-events-{node.Name}");
        Akka.Cluster.Cluster.Get(node.System).Subscribe(probe.Ref, SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(IMemberEvent), typeof(IReachabilityEvent));
        probe.ExpectMsg<CurrentClusterState>();
        return probe;
    }

    /// <summary>Waits for the member event <typeparamref name="T"/> about node <paramref name="name"/> on <paramref name="probe"/>, skipping the others.</summary>
    protected static Task<T> ExpectMemberEventAsync<T>(TestProbe probe, string name, TimeSpan timeout)
        where T : class, IClusterDomainEvent =>
        probe.FishForMessageAsync<T>(e => MemberOf(e)?.HasRole(name) == true, timeout, $"{typeof(T).Name} for {name}").AsTask();

    /// <summary>Retries <paramref name="assertion"/> until it passes or <paramref name="timeout"/> ends (then its last failure is the test's).</summary>
    protected Task EventuallyAsync(Action assertion, TimeSpan timeout) =>
        AwaitAssertAsync(assertion, timeout, TimeSpan.FromMilliseconds(100));

    private static Member? MemberOf(IClusterDomainEvent e) => e switch
    {
        IMemberEvent member => member.Member,
        ReachabilityEvent reachability => reachability.Member,
        _ => null,
    };
}
