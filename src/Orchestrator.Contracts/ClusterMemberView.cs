namespace Orchestrator.Contracts;

/// <summary>One cluster member as the answering node sees it: its node name (role), address, status and reachability.</summary>
public sealed record ClusterMemberView(string Node, string Address, string Status, bool Reachable);
