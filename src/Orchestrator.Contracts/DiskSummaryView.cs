namespace Orchestrator.Contracts;

/// <summary>One entry of GET /disks; <c>state</c> is ready, opening or quarantined, and <c>quarantine</c> says why.</summary>
public sealed record DiskSummaryView(string Id, string ActivePath, int ChainLength, int LiveJobs, string State, string? Quarantine);
