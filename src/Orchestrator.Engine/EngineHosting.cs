using Akka.Hosting;
using Orchestrator.Engine.Disks;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Engine;

/// <summary>
/// Akka.Hosting registration of the engine: the disk front (registry key <see cref="DiskManagerKey"/>) and the disk
/// registry (<see cref="DiskRegistryKey"/>).
/// </summary>
public static class EngineHosting
{
    /// <summary>
    /// Starts the engine. The <see cref="EventHub"/> is shared with the web layer and <see cref="LocalDisks"/> with the
    /// NBD exports: register the same instances in DI (the node does <c>services.AddSingleton(hub)</c>) and pass them here.
    /// <paramref name="nodeName"/> is the cluster node's name: each disk's host, and the registry's stream <c>registry-{nodeName}</c>.
    /// </summary>
    public static AkkaConfigurationBuilder AddOrchestratorEngine(this AkkaConfigurationBuilder builder, EngineSettings settings, EventHub events, LocalDisks disks,
        string nodeName) =>
        builder.AddWireSerialization().WithActors((system, registry) =>
        {
            var (front, diskRegistry) = DiskEngine.Start(system, settings, events, disks, nodeName);
            registry.Register<DiskManagerKey>(front);
            registry.Register<DiskRegistryKey>(diskRegistry);
        });
}
