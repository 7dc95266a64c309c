using Akka.Actor;

namespace Orchestrator.Engine.Cluster;

/// <summary>One way into the cluster for every node: join the seeds, or, with none, the node itself.</summary>
public static class ClusterJoin
{
    /// <summary>Starts joining; membership then grows asynchronously (see <see cref="WhenUpAsync"/>).</summary>
    public static void Start(ActorSystem system, ClusterSettings settings)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (settings.Seeds.Count == 0)
        {
            cluster.Join(cluster.SelfAddress);
        }
        else
        {
            // The protocol is the node's own: transport adapters (the tests' throttler) rename it, e.g. akka.trttl.tcp.
            var protocol = cluster.SelfAddress.Protocol;
            cluster.JoinSeedNodes(settings.Seeds.Select(ClusterSettings.SeedAddress).Select(a => new Address(protocol, a.System, a.Host, a.Port)));
        }
    }

    /// <summary>Completes when this node is Up; fails after <paramref name="timeout"/> naming the seeds it tried.</summary>
    public static async Task WhenUpAsync(ActorSystem system, ClusterSettings settings, TimeSpan timeout)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        if (await Task.WhenAny(up.Task, Task.Delay(timeout)) != up.Task)
        {
            var target = settings.Seeds.Count == 0 ? "itself" : string.Join(", ", settings.Seeds);
            throw new TimeoutException($"node {settings.NodeName} did not become Up within {timeout.TotalSeconds:0} s joining {target}");
        }
    }
}
