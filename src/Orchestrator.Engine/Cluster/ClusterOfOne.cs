using Akka.Actor;
using Akka.Configuration;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// A node alone, for processes that build an ActorSystem without Akka.Hosting (tests, benchmarks): the cluster HOCON
/// on a free port and the same join as the node's (with no seeds, it joins itself). The engine always runs in a cluster.
/// </summary>
public static class ClusterOfOne
{
    public static ClusterSettings Settings(string nodeName) => new() { NodeName = nodeName, Port = 0 };

    /// <summary>The cluster HOCON of a lone node named <paramref name="nodeName"/>, to put in front of the journal's.</summary>
    public static Config Config(string nodeName) => ClusterHocon.For(Settings(nodeName));

    public static void Join(ActorSystem system, string nodeName) => ClusterJoin.Start(system, Settings(nodeName));
}
