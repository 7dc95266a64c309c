namespace Orchestrator.Node.Tests;

/// <summary>
/// What each cluster of a disk may hold after crashes, given the guest writes issued and the flushes acknowledged:
/// a write adds its pattern to the cluster's possibilities (it may or may not have landed); an acknowledged flush
/// pins every cluster its group wrote to that group's last pattern there (a later kill cannot take it back).
/// Clusters never written must keep the original content.
/// </summary>
internal sealed class ClusterLedger(byte[] original, int clusterSize)
{
    /// <summary>Stands for "the cluster's original content" among the possibilities.</summary>
    private const int Original = -1;

    private readonly Dictionary<long, HashSet<int>> _possible = [];

    public int Issued { get; private set; }

    public int Pinned { get; private set; }

    /// <summary>A write is about to be sent: from now on the cluster may hold its pattern.</summary>
    public void Issue(GuestWrite write)
    {
        var cluster = ClusterOf(write);
        if (!_possible.TryGetValue(cluster, out var set))
        {
            _possible[cluster] = set = [Original];
        }

        set.Add(write.Pattern);
        Issued++;
    }

    /// <summary>
    /// The cluster may also hold <paramref name="write"/>'s pattern, without counting it as issued: a write sent after
    /// the one a flush pinned may have landed too.
    /// </summary>
    public void Allow(GuestWrite write) => _possible[ClusterOf(write)].Add(write.Pattern);

    /// <summary>The group's flush was acknowledged: each cluster it wrote holds the group's last pattern there, durably.</summary>
    public void Acknowledge(IReadOnlyList<GuestWrite> group)
    {
        foreach (var last in group.GroupBy(ClusterOf).Select(g => g.Last()))
        {
            _possible[ClusterOf(last)] = [last.Pattern];
            Pinned++;
        }
    }

    /// <summary>Every cluster whose content is not one of its possibilities, described for a failure message.</summary>
    public List<string> Mismatches(byte[] actual)
    {
        var failures = new List<string>();
        for (long cluster = 0; cluster * clusterSize < original.Length; cluster++)
        {
            var span = actual.AsSpan((int)(cluster * clusterSize), clusterSize);
            var possible = _possible.TryGetValue(cluster, out var set) ? set : [Original];
            var held = false;
            foreach (var p in possible)
            {
                held |= Holds(span, cluster, p);
            }

            if (!held)
            {
                var seen = span.IndexOfAnyExcept(span[0]) < 0 ? $"all 0x{span[0]:x2}" : $"mixed bytes starting 0x{span[0]:x2}";
                var expected = string.Join(", ", possible.Select(p => p == Original ? "original" : $"0x{p:x2}"));
                failures.Add($"cluster {cluster} (offset {cluster * clusterSize}) holds {seen}; possible: {expected}");
            }
        }

        return failures;
    }

    private bool Holds(ReadOnlySpan<byte> content, long cluster, int possibility) =>
        possibility == Original
            ? content.SequenceEqual(original.AsSpan((int)(cluster * clusterSize), clusterSize))
            : content.IndexOfAnyExcept((byte)possibility) < 0;

    private long ClusterOf(GuestWrite write)
    {
        if (write.Offset % clusterSize != 0 || write.Length != clusterSize)
        {
            throw new ArgumentException($"the ledger tracks whole-cluster writes only, not {write.Length} bytes at {write.Offset}", nameof(write));
        }

        return write.Offset / clusterSize;
    }
}
