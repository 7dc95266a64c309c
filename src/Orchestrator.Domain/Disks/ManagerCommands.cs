using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// Commands to the node's disk manager, which owns the disk chain actors: it forwards every <see cref="IDiskCommand"/>
/// to the disk's actor, and answers the questions that span disks.
/// </summary>
public static class ManagerCommands
{
    /// <summary>Answered with <see cref="DiskList"/>.</summary>
    [WireName("manager.command.list-disks.v1")]
    public sealed record ListDisks : IWireMessage;

    [WireName("manager.reply.disk-list.v1")]
    public sealed record DiskList(IReadOnlyList<DiskSummary> Disks) : IWireMessage;

    public sealed record DiskSummary(string Disk, string ActivePath, int ChainLength, int LiveJobs);

    /// <summary>query-block-jobs over every disk; answered with <see cref="DiskReplies.JobList"/>.</summary>
    [WireName("manager.command.query-all-jobs.v1")]
    public sealed record QueryAllJobs : IWireMessage;

    /// <summary>A verb addressed by job id alone (the manager knows which disk holds the job).</summary>
    [WireName("manager.command.job-verb-by-id.v1")]
    public sealed record JobVerbById(JobId Job, JobVerb Verb, long Speed = 0) : IWireMessage;

    /// <summary>query-block-jobs entry of one job; answered with <see cref="DiskReplies.JobList"/> of one, or Refused.</summary>
    [WireName("manager.command.query-job.v1")]
    public sealed record QueryJob(JobId Job) : IWireMessage;
}
