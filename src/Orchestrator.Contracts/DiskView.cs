namespace Orchestrator.Contracts;

/// <summary>
/// GET /disks/{id}: the chain, active image first, with each image's size and allocation, the disk's jobs, and where
/// its NBD export is (on its host); <c>state</c> is ready, opening or quarantined, and <c>quarantine</c> says why;
/// <c>host</c> is the node it runs on.
/// </summary>
public sealed record DiskView(string Id, string ActivePath, IReadOnlyList<string> Chain, IReadOnlyList<ImageView> Images, IReadOnlyList<JobView> Jobs, NbdView Nbd,
    string State, string? Quarantine, string? Host = null);
