using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// Questions that span disks, asked of the node's disk front (the router that owns the disk actors, keyed by disk
/// id): lists ask every disk, which answers from the state it keeps; a job id is looked up in the registry (one
/// message), then asked of its disk (one more): no fan-out.
/// </summary>
public static class ManagerCommands
{
    /// <summary>Answered with <see cref="DiskList"/>.</summary>
    public sealed record ListDisks;

    public sealed record DiskList(IReadOnlyList<DiskSummary> Disks);

    public sealed record DiskSummary(string Disk, string ActivePath, int ChainLength, int LiveJobs, string State = DiskStates.Ready, string? Quarantine = null);

    /// <summary>query-block-jobs over every disk; answered with <see cref="DiskReplies.JobList"/>.</summary>
    public sealed record QueryAllJobs;

    /// <summary>A verb addressed by job id alone (the registry knows which disk holds the job).</summary>
    public sealed record JobVerbById(JobId Job, JobVerb Verb, long Speed = 0);

    /// <summary>query-block-jobs entry of one job; answered with <see cref="DiskReplies.JobList"/> of one, or Refused.</summary>
    public sealed record QueryJob(JobId Job);
}
