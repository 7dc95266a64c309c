using Akka.Actor;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// This node's registry as one actor reference for the disks that run here: it wraps each message for the registry
/// entity of this host and forwards it to the registry region, so the answer goes straight back to the asker.
/// </summary>
public sealed class RegistryProxy : ReceiveActor
{
    public RegistryProxy(string host, IActorRef registries) =>
        ReceiveAny(message => registries.Forward(new RegistryEnvelope(host, message)));

    public static Props Props(string host, IActorRef registries) => Akka.Actor.Props.Create(() => new RegistryProxy(host, registries));
}
