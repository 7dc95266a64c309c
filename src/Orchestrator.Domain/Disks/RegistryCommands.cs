using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// The disk registry's protocol. Claims answer <see cref="Accepted"/> or <see cref="DiskReplies.Refused"/>;
/// <see cref="Locate"/> answers <see cref="Located"/>; <see cref="ListDisks"/> answers <see cref="DiskList"/>.
/// </summary>
public static class RegistryCommands
{
    /// <summary>Take these images for the disk (replacing the ones it held), or be refused because another disk holds one.</summary>
    public sealed record Claim(DiskId Disk, IReadOnlyList<ImageClaim> Images);

    /// <summary>After recovery: the images and jobs the disk's journal holds; replaces the registry's view.</summary>
    public sealed record Sync(DiskId Disk, IReadOnlyList<ImageClaim> Images, IReadOnlyList<JobId> Jobs);

    public sealed record Release(DiskId Disk);

    public sealed record ClaimJob(DiskId Disk, JobId Job);

    public sealed record ReleaseJob(DiskId Disk, JobId Job);

    public sealed record Locate(JobId Job);

    public sealed record Located(JobId Job, DiskId? Disk);

    public sealed record ListDisks;

    /// <summary>
    /// This host's disks in the order it starts them (made by <see cref="RegistryState.InStartOrder"/>): the first
    /// <paramref name="HoldingJobs"/> hold a job.
    /// </summary>
    public sealed record DiskList(IReadOnlyList<RegisteredDisk> Disks, int HoldingJobs);

    public sealed record Accepted;
}
