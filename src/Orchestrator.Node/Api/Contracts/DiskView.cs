using Orchestrator.Domain.Disks;
using Orchestrator.Node.Exports;

namespace Orchestrator.Node.Api.Contracts;

/// <summary>
/// GET /disks/{id}: the chain, active image first, with each image's size and allocation, the disk's jobs, and where
/// its NBD export is; <c>state</c> is ready, opening or quarantined, and <c>quarantine</c> says why.
/// </summary>
public sealed record DiskView(string Id, string ActivePath, IReadOnlyList<string> Chain, IReadOnlyList<ImageView> Images, IReadOnlyList<JobView> Jobs, NbdView Nbd,
    string State, string? Quarantine)
{
    public static DiskView From(DiskReplies.DiskInfo info, NbdService nbd) => new(
        info.Disk.Value, info.ActivePath, info.Chain, [.. info.Images.Select(ImageView.From)], [.. info.Jobs.Select(JobView.From)], NbdView.For(info.Disk.Value, nbd),
        info.State, info.Quarantine);
}
