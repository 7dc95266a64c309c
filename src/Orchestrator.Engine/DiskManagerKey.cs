namespace Orchestrator.Engine;

/// <summary>ActorRegistry key of the node's disk manager.</summary>
public sealed class DiskManagerKey;
