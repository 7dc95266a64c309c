namespace Orchestrator.Engine;

/// <summary>ActorRegistry key of the node's disk front (<see cref="Disks.DiskRouter"/>), which every API request goes to.</summary>
public sealed class DiskManagerKey;
