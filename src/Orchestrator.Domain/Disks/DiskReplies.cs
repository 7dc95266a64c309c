using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>Answers of the disk chain actor.</summary>
public static class DiskReplies
{
    [WireName("disk.reply.refused.v1")]
    public sealed record Refused(DomainError Error) : IWireMessage;

    [WireName("disk.reply.done.v1")]
    public sealed record Done(string Message) : IWireMessage;

    /// <summary>One image of a chain, top first: its path, virtual size and bytes it allocates itself.</summary>
    public sealed record ImageSummary(string Path, long VirtualSize, int ClusterSize, long AllocatedBytes, string? BackingFile);

    /// <param name="State">"ready", "opening" or "quarantined" (<see cref="DiskStates"/>).</param>
    /// <param name="Quarantine">Why the disk is quarantined (its images were not opened after a restart); null otherwise.</param>
    [WireName("disk.reply.disk-info.v1")]
    public sealed record DiskInfo(DiskId Disk, string ActivePath, IReadOnlyList<string> Chain, IReadOnlyList<ImageSummary> Images, IReadOnlyList<JobInfo> Jobs,
        string State = DiskStates.Ready, string? Quarantine = null, string? Host = null) : IWireMessage;

    [WireName("disk.reply.job-started.v1")]
    public sealed record JobStarted(JobInfo Job) : IWireMessage;

    [WireName("disk.reply.job-list.v1")]
    public sealed record JobList(IReadOnlyList<JobInfo> Jobs) : IWireMessage;
}
