namespace Orchestrator.Engine.Fleet;

/// <summary>A message for the registry of <paramref name="Host"/> (entity id = host's node name, pinned to that node).</summary>
public sealed record RegistryEnvelope(string Host, object Message);
