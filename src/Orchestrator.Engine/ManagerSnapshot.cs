namespace Orchestrator.Engine;

/// <summary>The disk manager's state for the snapshot store: the disks this node hosts (a concrete list, sorted).</summary>
public sealed record ManagerSnapshot(List<string> Disks);
