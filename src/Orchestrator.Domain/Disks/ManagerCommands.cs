using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// Questions that span disks, asked of any node's disk front: lists ask every disk of every Up host, which answers
/// from the state it keeps; a job id is looked up in each Up host's registry (one message each), then asked of its
/// disk (one more).
/// </summary>
public static class ManagerCommands
{
    /// <summary>Answered with <see cref="DiskList"/>.</summary>
    [WireName("manager.command.list-disks.v1")]
    public sealed record ListDisks : IWireMessage;

    [WireName("manager.reply.disk-list.v1")]
    public sealed record DiskList(IReadOnlyList<DiskSummary> Disks) : IWireMessage;

    public sealed record DiskSummary(string Disk, string ActivePath, int ChainLength, int LiveJobs, string State = DiskStates.Ready, string? Quarantine = null,
        string? Host = null);

    /// <summary>query-block-jobs over every disk; answered with <see cref="DiskReplies.JobList"/>.</summary>
    [WireName("manager.command.query-all-jobs.v1")]
    public sealed record QueryAllJobs : IWireMessage;

    /// <summary>A verb addressed by job id alone (the registry knows which disk holds the job).</summary>
    [WireName("manager.command.job-verb-by-id.v1")]
    public sealed record JobVerbById(JobId Job, JobVerb Verb, long Speed = 0) : IWireMessage;

    /// <summary>query-block-jobs entry of one job; answered with <see cref="DiskReplies.JobList"/> of one, or Refused.</summary>
    [WireName("manager.command.query-job.v1")]
    public sealed record QueryJob(JobId Job) : IWireMessage;
}
