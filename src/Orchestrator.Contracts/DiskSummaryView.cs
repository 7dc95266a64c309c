namespace Orchestrator.Contracts;

/// <summary>
/// One entry of GET /disks (every disk of every Up node); <c>state</c> is ready, opening or quarantined, and
/// <c>quarantine</c> says why; <c>host</c> is the node that runs it.
/// </summary>
public sealed record DiskSummaryView(string Id, string ActivePath, int ChainLength, int LiveJobs, string State, string? Quarantine, string? Host = null);
