namespace Orchestrator.Domain.Disks;

/// <summary>Marker of the registry's persisted events.</summary>
public interface IRegistryEvent : IWireMessage;

/// <summary>
/// What the disk registry persists (its stream is <c>registry-…</c>, which no disk's <c>disk-{id}</c> can equal).
/// Fields are strings and concrete lists: the parameters of what happened, never state records.
/// </summary>
public static class RegistryEvents
{
    /// <summary>A disk claimed these images (registration, snapshot, block copy, a commit that dropped images).</summary>
    [WireName("registry.disk-claimed.v1")]
    public sealed record DiskClaimed(string Disk, string Host, List<ImageClaim> Images) : IRegistryEvent;

    /// <summary>The disk is gone (unregistered, or its registration never completed); its images and jobs are free.</summary>
    [WireName("registry.disk-released.v1")]
    public sealed record DiskReleased(string Disk) : IRegistryEvent;

    /// <summary>A disk's actor, after it recovered, reported the images and jobs its own journal holds.</summary>
    [WireName("registry.disk-synced.v1")]
    public sealed record DiskSynced(string Disk, string Host, List<ImageClaim> Images, List<string> Jobs) : IRegistryEvent;

    /// <summary>
    /// The disk moved to <paramref name="ToHost"/> after this host was downed (shared-storage failover, written by the
    /// host that took it over): this host no longer holds it or its jobs, and does not start it when it returns.
    /// </summary>
    [WireName("registry.disk-moved.v1")]
    public sealed record DiskMoved(string Disk, string ToHost) : IRegistryEvent;

    [WireName("registry.job-claimed.v1")]
    public sealed record JobClaimed(string Job, string Disk) : IRegistryEvent;

    [WireName("registry.job-released.v1")]
    public sealed record JobReleased(string Job, string Disk) : IRegistryEvent;

    /// <summary>The disks of the old disk manager's journal (<c>disk-manager</c>), imported once; empty on a new node.</summary>
    [WireName("registry.legacy-imported.v1")]
    public sealed record LegacyManagerImported(List<string> Disks, string Host) : IRegistryEvent;

    /// <summary>
    /// The registry of an earlier version (one per database, stream <c>registry-node</c>) was adopted by this host's
    /// registry (<c>registry-{host}</c>): its disks and jobs came just before as the events above, this marks it done.
    /// </summary>
    [WireName("registry.node-registry-imported.v1")]
    public sealed record NodeRegistryImported(int Disks) : IRegistryEvent;
}
