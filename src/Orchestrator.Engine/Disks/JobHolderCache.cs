using System.Collections.Concurrent;
using Orchestrator.Domain;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Which disk held each job id when this node last saw it (a job it started, or one it located). A query or verb by job
/// id goes straight to that disk instead of first asking the id's fleet-wide owner, a sharded entity that may live on
/// any member: that lookup cost a remote round trip, or none, depending on where the entity happened to be allocated.
/// Never trusted blindly: a disk that no longer holds the id answers not-found, and the caller forgets the entry and
/// locates the id again. Safe under the router's concurrent tasks; bounded, since ids come and go.
/// </summary>
public sealed class JobHolderCache(int capacity = 10_000)
{
    private readonly ConcurrentDictionary<string, DiskId> _holders = new(StringComparer.Ordinal);

    public DiskId? HolderOf(JobId job) => _holders.TryGetValue(job.Value, out var disk) ? disk : null;

    public void Remember(JobId job, DiskId disk)
    {
        // Forgetting everything is as correct as forgetting the oldest (entries are hints), and needs no order.
        if (_holders.Count >= capacity)
        {
            _holders.Clear();
        }

        _holders[job.Value] = disk;
    }

    /// <summary>Forgets <paramref name="job"/> if it still points at <paramref name="disk"/> (a newer entry stays).</summary>
    public void Forget(JobId job, DiskId disk) => _holders.TryRemove(new KeyValuePair<string, DiskId>(job.Value, disk));

    public int Count => _holders.Count;
}
