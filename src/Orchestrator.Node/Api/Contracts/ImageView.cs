using Orchestrator.Domain.Disks;

namespace Orchestrator.Node.Api.Contracts;

/// <summary>One image of a chain: virtual size, cluster size, bytes it allocates itself, and its backing file as written in its header.</summary>
public sealed record ImageView(string Path, long VirtualSize, int ClusterSize, long AllocatedBytes, string? BackingFile)
{
    public static ImageView From(DiskReplies.ImageSummary s) => new(s.Path, s.VirtualSize, s.ClusterSize, s.AllocatedBytes, s.BackingFile);
}
