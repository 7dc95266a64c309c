using Orchestrator.Engine.Cluster;

namespace Orchestrator.Engine.Fleet;

/// <summary>Finds the registry entity (the host's node name) a <see cref="RegistryEnvelope"/> is for, and unwraps it.</summary>
public sealed class RegistryExtractor : OneShardPerEntityExtractor
{
    public override string? EntityId(object message) => (message as RegistryEnvelope)?.Host;

    public override object? EntityMessage(object message) => message is RegistryEnvelope envelope ? envelope.Message : message;
}
