using Akka.Hosting;

namespace Orchestrator.Engine.Cluster;

/// <summary>Akka.Hosting registration of the cluster: the node is always a member; with no seeds it joins itself.</summary>
public static class ClusterHosting
{
    public static AkkaConfigurationBuilder AddOrchestratorCluster(this AkkaConfigurationBuilder builder, ClusterSettings settings) =>
        builder
            .AddHocon(ClusterHocon.Own(settings), HoconAddMode.Prepend)
            // Under everything else, but in the system's configuration from its creation (see ClusterHocon.For).
            .AddHocon(ClusterHocon.ModuleDefaults, HoconAddMode.Append)
            .AddStartup((system, _) => ClusterJoin.Start(system, settings));
}
