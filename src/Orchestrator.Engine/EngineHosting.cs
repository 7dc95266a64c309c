using Akka.Hosting;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Engine;

/// <summary>Akka.Hosting registration of the engine: the disk manager (registry key <see cref="DiskManagerKey"/>).</summary>
public static class EngineHosting
{
    /// <summary>
    /// Starts the disk manager. The <see cref="EventHub"/> is shared with the web layer: register the same instance in DI
    /// (the node does <c>services.AddSingleton(hub)</c>) and pass it here.
    /// </summary>
    public static AkkaConfigurationBuilder AddOrchestratorEngine(this AkkaConfigurationBuilder builder, EngineSettings settings, EventHub events) =>
        builder.AddWireSerialization().WithActors((system, registry) =>
        {
            var manager = system.ActorOf(DiskManagerActor.Props(settings, events), "disks");
            registry.Register<DiskManagerKey>(manager);
        });
}
