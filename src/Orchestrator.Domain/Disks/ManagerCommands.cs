using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// Commands to the node's disk manager, which owns the disk chain actors: it forwards every <see cref="IDiskCommand"/>
/// to the disk's actor, and answers the questions that span disks.
/// </summary>
public static class ManagerCommands
{
    /// <summary>Answered with <see cref="DiskList"/>.</summary>
    public sealed record ListDisks;

    public sealed record DiskList(IReadOnlyList<DiskSummary> Disks);

    public sealed record DiskSummary(string Disk, string ActivePath, int ChainLength, int LiveJobs);

    /// <summary>query-block-jobs over every disk; answered with <see cref="DiskReplies.JobList"/>.</summary>
    public sealed record QueryAllJobs;

    /// <summary>A verb addressed by job id alone (the manager knows which disk holds the job).</summary>
    public sealed record JobVerbById(JobId Job, JobVerb Verb, long Speed = 0);

    /// <summary>query-block-jobs entry of one job; answered with <see cref="DiskReplies.JobList"/> of one, or Refused.</summary>
    public sealed record QueryJob(JobId Job);
}
