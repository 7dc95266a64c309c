namespace Orchestrator.Domain.Fleet;

/// <summary>The disk, and its host, whose job holds a job id.</summary>
public sealed record JobIdHolder(string Host, string Disk);
