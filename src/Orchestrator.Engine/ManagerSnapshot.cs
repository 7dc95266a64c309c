using Orchestrator.Domain;

namespace Orchestrator.Engine;

/// <summary>The disk manager's state for the snapshot store: the disks this node hosts (a concrete list, sorted).</summary>
[WireName("manager.snapshot.v1")]
public sealed record ManagerSnapshot(List<string> Disks) : IWireMessage;
