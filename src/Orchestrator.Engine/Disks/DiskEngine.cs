using Akka.Actor;

namespace Orchestrator.Engine.Disks;

/// <summary>Starts the engine in an actor system: its local services, the disk registry, and the disk front (router).</summary>
public static class DiskEngine
{
    /// <summary>The actor name of the disk front, which the API and the tests address.</summary>
    public const string FrontName = "disks";

    public const string RegistryName = "registry";

    /// <param name="host">This node's name, recorded as each disk's host.</param>
    public static (IActorRef Front, IActorRef Registry) Start(ActorSystem system, EngineSettings settings, EventHub events, LocalDisks disks, string host)
    {
        EngineLocal.Install(system, events, disks);
        Persistence.EventLog.Start(system, events, host);
        var registry = system.ActorOf(DiskRegistryActor.Props(settings, host), RegistryName);
        var front = system.ActorOf(DiskRouter.Props(settings, registry), FrontName);
        return (front, registry);
    }
}
