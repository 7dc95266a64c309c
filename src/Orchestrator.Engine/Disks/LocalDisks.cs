using System.Collections.Concurrent;
using Orchestrator.Domain;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The node-local view of the disks whose chains are open here: a thread-safe map from disk id to its guest I/O path.
/// The disk actor publishes its <see cref="LiveDisk"/> once the chain is open and removes it before closing it; the
/// NBD exports look disks up here. Live objects never travel in messages, so the actor protocol stays fit for a wire.
/// </summary>
public sealed class LocalDisks
{
    private readonly ConcurrentDictionary<DiskId, LiveDisk> _disks = new();

    /// <summary>The disk's open guest I/O path on this node, or null when it is not open here.</summary>
    public LiveDisk? Find(DiskId disk) => _disks.GetValueOrDefault(disk);

    public IReadOnlyList<DiskId> Open => [.. _disks.Keys.OrderBy(d => d.Value, StringComparer.Ordinal)];

    internal void Publish(DiskId disk, LiveDisk live) => _disks[disk] = live;

    /// <summary>Removes the entry only if it is still <paramref name="live"/>: a newer registration's disk stays.</summary>
    internal void Withdraw(DiskId disk, LiveDisk live) => _disks.TryRemove(new KeyValuePair<DiskId, LiveDisk>(disk, live));
}
