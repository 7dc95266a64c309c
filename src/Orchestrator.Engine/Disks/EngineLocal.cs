using Akka.Actor;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The node-local services the engine's actors use, held by an Akka extension instead of travelling in Props: the
/// QMP event hub (shared with the web layer) and the map of open disks (shared with the NBD exports). Installed once
/// per actor system by <see cref="DiskEngine.Start"/>.
/// </summary>
public sealed class EngineLocal(EventHub events, LocalDisks disks) : IExtension
{
    public EventHub Events { get; } = events;

    public LocalDisks Disks { get; } = disks;

    /// <summary>Why a disk's entity stopped in recovery (its journal could not be replayed), for the router to show.</summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<string, string> RecoveryFailures { get; } = new();

    /// <summary>The services installed in <paramref name="system"/>; a clear error when the engine was not started there.</summary>
    public static EngineLocal Of(ActorSystem system) =>
        system.HasExtension<EngineLocal>()
            ? system.GetExtension<EngineLocal>()
            : throw new InvalidOperationException("the engine's local services are not installed in this actor system; start it with DiskEngine.Start");

    internal static EngineLocal Install(ActorSystem system, EventHub events, LocalDisks disks) =>
        (EngineLocal)system.RegisterExtension(new Id(events, disks));

    /// <summary>Akka keys extensions by type: the first installation wins, later ones get the same instance.</summary>
    private sealed class Id(EventHub events, LocalDisks disks) : ExtensionIdProvider<EngineLocal>
    {
        public override EngineLocal CreateExtension(ExtendedActorSystem system) => new(events, disks);
    }
}
