namespace Orchestrator.Engine.Disks;

/// <summary>ActorRegistry key of the disk registry (<see cref="DiskRegistryActor"/>).</summary>
public sealed class DiskRegistryKey;
