using Orchestrator.Domain.Disks;

namespace Orchestrator.Node.Api.Contracts;

/// <summary>GET /disks/{id}: the chain, active image first, with each image's size and allocation, and the disk's jobs.</summary>
public sealed record DiskView(string Id, string ActivePath, IReadOnlyList<string> Chain, IReadOnlyList<ImageView> Images, IReadOnlyList<JobView> Jobs)
{
    public static DiskView From(DiskReplies.DiskInfo info) => new(
        info.Disk.Value, info.ActivePath, info.Chain, [.. info.Images.Select(ImageView.From)], [.. info.Jobs.Select(JobView.From)]);
}
