namespace Orchestrator.Contracts;

/// <summary>One entry of GET /disks.</summary>
public sealed record DiskSummaryView(string Id, string ActivePath, int ChainLength, int LiveJobs);
