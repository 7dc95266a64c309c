namespace Orchestrator.Domain.Disks;

/// <summary>The registry's state for the snapshot store, in concrete lists (<see cref="RegistryState.ToSnapshot"/>).</summary>
[WireName("registry.snapshot.v1")]
public sealed record RegistrySnapshot(List<RegisteredDisk> Disks, List<RegistrySnapshot.JobEntry> Jobs, bool LegacyImported, bool NodeRegistryImported = false) : IWireMessage
{
    public sealed record JobEntry(string Job, string Disk);
}
