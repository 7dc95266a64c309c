using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>The public protocol of a disk chain actor. Every command is answered with a <see cref="DiskReplies"/> record.</summary>
public static class DiskCommands
{
    /// <summary>
    /// Register a disk by the path of its active image; the actor discovers the chain below it. <paramref name="Host"/>
    /// is the node whose storage holds it (null: the node that takes the command).
    /// </summary>
    [WireName("disk.command.register.v1")]
    public sealed record Register(DiskId Disk, string ActivePath, string? Host = null) : IDiskCommand;

    /// <summary>Forget a disk (never deletes files); refused while a job is live.</summary>
    [WireName("disk.command.unregister.v1")]
    public sealed record Unregister(DiskId Disk) : IDiskCommand;

    [WireName("disk.command.show.v1")]
    public sealed record Show(DiskId Disk) : IDiskCommand;

    /// <summary>Live external snapshot: a new overlay at <paramref name="NewPath"/> becomes the active image.</summary>
    [WireName("disk.command.snapshot.v1")]
    public sealed record Snapshot(DiskId Disk, string NewPath) : IDiskCommand;

    [WireName("disk.command.stream.v1")]
    public sealed record Stream(DiskId Disk, StreamRequest Request) : IDiskCommand;

    /// <summary>Live block copy: snapshot to <paramref name="Destination"/>, then stream with no base into it.</summary>
    [WireName("disk.command.block-copy.v1")]
    public sealed record BlockCopy(DiskId Disk, string Destination, StreamRequest Request) : IDiskCommand;

    /// <summary>A job verb: pause, resume, cancel, set-speed (with <paramref name="Speed"/>), dismiss.</summary>
    [WireName("disk.command.job-verb.v1")]
    public sealed record JobVerbCommand(DiskId Disk, JobId Job, JobVerb Verb, long Speed = 0) : IDiskCommand;

    [WireName("disk.command.query-jobs.v1")]
    public sealed record QueryJobs(DiskId Disk) : IDiskCommand;

    /// <summary>query-block-jobs entry of one of the disk's jobs; answered with a <see cref="DiskReplies.JobList"/> of one, or Refused.</summary>
    [WireName("disk.command.query-job.v1")]
    public sealed record QueryJob(DiskId Disk, JobId Job) : IDiskCommand;
}
