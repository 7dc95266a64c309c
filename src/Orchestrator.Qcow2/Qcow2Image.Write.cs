using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;
using Orchestrator.Qcow2.Metadata;

namespace Orchestrator.Qcow2;

public sealed partial class Qcow2Image
{
    // Writes staged but not yet committed: L2 updates (with the entry the slot held when planned), L1 entries of new
    // L2 tables, clusters to free. Guest writes apply their L2 entries in memory at once and only defer the disk writes.
    // A staged update names its table by host offset, not by object: a clean table may leave the cache before the
    // commit, and an update made to the dropped copy would never reach the disk.
    private readonly List<(long L2Offset, int Index, L2Entry Expected, L2Entry Entry)> _staged = [];
    private readonly List<long> _stagedL1 = [];
    private readonly List<long> _stagedFrees = [];

    /// <summary>
    /// Writes whole guest clusters [<paramref name="firstCluster"/>, +<paramref name="count"/>) with the contents in
    /// <paramref name="data"/>: <see cref="StageClusters"/> then <see cref="CommitStaged"/>.
    /// </summary>
    public void WriteClusters(long firstCluster, int count, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero) =>
        WriteClusters([new ClusterRun(firstCluster, count)], data, zero);

    public void WriteClusters(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero)
    {
        StageClusters(runs, data, zero);
        CommitStaged();
    }

    /// <summary>
    /// A guest write: the clusters are allocated and written, and their new L2 entries take effect in memory at once
    /// (reads see them); the L2/L1 updates reach the disk, in the same order, at the next <see cref="CommitStaged"/>,
    /// as QEMU's metadata caches do. Without a flush a crash may lose the write, never the image's consistency.
    /// </summary>
    /// <param name="unmap">
    /// Zero clusters give their host cluster back (a discard, as QEMU's): the entry becomes a plain zero cluster and the
    /// host cluster is freed at the commit, after the new entry is on disk (a crash before leaves a leak, never a
    /// cluster both free and referenced). Without it a zeroed data cluster keeps its host cluster (write-zeroes).
    /// </param>
    public void WriteClustersDeferred(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero, bool unmap = false) =>
        StageCore(runs, data, zero, applyNow: true, unmap);

    /// <summary>Clusters whose metadata is written but not yet committed (staged copies, deferred guest writes).</summary>
    public int PendingClusters => _staged.Count + _deferredClusters;

    private int _deferredClusters;

    /// <summary>Whether <see cref="CommitStaged"/> has anything to write: staged updates, new L1 entries, frees, dirty L2 tables or refcount blocks.</summary>
    private bool HasUncommitted =>
        _staged.Count > 0 || _stagedL1.Count > 0 || _stagedFrees.Count > 0 || _l2Cache.HasDirty || Refcounts.HasDirty;

    /// <summary>
    /// Step 1 of the write order: allocates clusters (their refcounts change in memory) and writes the data. Nothing
    /// points at the new clusters until <see cref="CommitStaged"/>, which writes the refcount blocks first (a crash
    /// before it leaves clusters that nothing references, and that the disk's refcounts may not even count). <paramref name="data"/> and
    /// <paramref name="zero"/> hold the clusters of all runs back to back; <paramref name="zero"/> marks all-zero clusters,
    /// which become zero clusters on version 3 with no data written. The runs must not overlap clusters staged since
    /// the last commit (a stream stages disjoint batches).
    /// </summary>
    public void StageClusters(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero) =>
        StageCore(runs, data, zero, applyNow: false, unmap: false);

    private void StageCore(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero, bool applyNow, bool unmap)
    {
        try
        {
            StageCoreUnguarded(runs, data, zero, applyNow, unmap);
        }
        catch
        {
            _keepDirty = true;
            throw;
        }
    }

    private void StageCoreUnguarded(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<byte> data, ReadOnlySpan<bool> zero, bool applyNow, bool unmap)
    {
        RequireWritable();
        var clusters = ExpandRuns(runs);
        var count = clusters.Length;
        if (count == 0)
        {
            return;
        }

        if (data.Length < (long)count * ClusterSize || zero.Length < count)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"buffer too small for {count} clusters", Path, operation: "writing");
        }

        var tables = EnsureL2Tables(clusters, _stagedL1);
        var plan = PlanTargets(clusters, zero, tables, _stagedFrees, unmap);
        WriteDataRuns(plan, data);
        for (var i = 0; i < count; i++)
        {
            var (table, index) = tables[i];
            if (applyNow)
            {
                table[index] = plan[i].Entry;
            }
            else
            {
                _staged.Add((table.HostOffset, index, table[index], plan[i].Entry));
            }
        }

        if (applyNow)
        {
            _deferredClusters += count;
        }
    }

    /// <summary>
    /// Steps 2-5 of the write order (the crash-consistency contract, as QEMU's): write the refcount blocks changed
    /// since the last commit (kept in memory until now, like QEMU's refcount cache, so a guest write costs no extra
    /// synchronous write), flush so the data and refcounts are durable; point the L2 entries at them; if an L2 table is new, flush, then write its L1 entry; free clusters the
    /// old entries referenced (old compressed data) only after a flush. The caller flushes when it needs the new
    /// L2/L1 entries themselves to be durable.
    /// </summary>
    public void CommitStaged()
    {
        if (!HasUncommitted)
        {
            return;
        }

        try
        {
            CommitStagedUnguarded();
        }
        catch
        {
            _keepDirty = true;
            throw;
        }
    }

    private void CommitStagedUnguarded()
    {
        MarkDirty();
        Refcounts.WriteDirty();
        _file.Flush();
        foreach (var (l2Offset, index, expected, entry) in _staged)
        {
            var table = _l2Cache.Get(l2Offset);
            if (table[index] == expected)
            {
                table[index] = entry;
            }
            else if (entry.HostOffset != 0 && entry.HostOffset != expected.HostOffset)
            {
                // The guest wrote this cluster after the copy read its source: the guest's data wins (QEMU's
                // copy-on-read rule) and the cluster the copy allocated, which nothing references, is given back.
                _stagedFrees.Add(entry.HostOffset >> Header.ClusterBits);
            }
        }

        _staged.Clear();
        _deferredClusters = 0;
        _l2Cache.WriteDirty();

        if (_stagedL1.Count > 0)
        {
            _file.Flush();
            foreach (var l1Index in _stagedL1)
            {
                WriteL1Entry(l1Index);
            }

            _stagedL1.Clear();
        }

        if (_stagedFrees.Count > 0)
        {
            _file.Flush();
            foreach (var cluster in _stagedFrees)
            {
                Refcounts.Decrement(cluster);
            }

            _stagedFrees.Clear();
            Refcounts.WriteDirty();
        }
    }

    /// <summary>Overwrites part of one cluster that is already allocated as data with refcount 1; no metadata changes.</summary>
    internal void WriteInPlace(long hostOffset, ReadOnlySpan<byte> data)
    {
        RequireWritable();
        RequireCountedPastEnd(hostOffset, data.Length);
        _file.Write(data, hostOffset);
    }

    /// <summary>
    /// A cluster past the end of the file that no refcount counts is not the image's: an L2 entry pointing there is
    /// corrupt (a clean image is not checked at open), and writing there would grow the file without bound.
    /// </summary>
    private void RequireCountedPastEnd(long hostOffset, long length)
    {
        if (hostOffset + length > _file.Length && Refcounts.Get(hostOffset >> Header.ClusterBits) == 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt,
                $"an L2 entry points at host offset 0x{hostOffset:x}, past the end of the file, at a cluster no refcount counts; "
                + "the image is corrupt (run 'qemu-img check')", Path, hostOffset, "writing");
        }
    }

    public void Flush() => _file.Flush();

    /// <summary>
    /// Rewrites the backing file name and format in the header: one write of the header cluster, then a flush.
    /// This write is the commit point of a stream.
    /// </summary>
    public void SetBackingFile(string? backingFile, string? backingFormat)
    {
        RequireWritable();
        var header = Header with { BackingFileName = backingFile, BackingFormat = backingFile is null ? null : backingFormat };
        if (MayMarkClean && !HasUncommitted)
        {
            // Nothing is pending: once it is flushed, this header write can also clear the dirty bit, sparing the
            // close its own write and flushes (a later metadata write sets the bit again).
            _file.Flush();
            UpdateHeader(header with { IncompatibleFeatures = header.IncompatibleFeatures & ~Qcow2Constants.IncompatDirty });
            _markedDirty = false;
            return;
        }

        UpdateHeader(header);
    }

    private void UpdateHeader(Qcow2Header header)
    {
        var bytes = header.Serialize();
        _file.Write(bytes, 0);
        _file.Flush();
        Header = header;
    }

    private void CommitRefcountTable(long offset, uint clusters) =>
        UpdateHeader(Header with { RefcountTableOffset = offset, RefcountTableClusters = clusters });

    private void RequireWritable()
    {
        if (!Writable)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, "the image is open read-only", Path, operation: "writing");
        }
    }

    private readonly record struct Target(L2Entry Entry, long DataOffset);

    /// <summary>The L2 table and index of every cluster, allocating (in memory) the L2 tables that do not exist yet.</summary>
    private long[] ExpandRuns(IReadOnlyList<ClusterRun> runs)
    {
        var guestClusters = (VirtualSize + ClusterSize - 1) >> Header.ClusterBits;
        var clusters = new long[runs.Sum(r => (long)r.Count)];
        var n = 0;
        foreach (var run in runs)
        {
            if (run.FirstCluster < 0 || run.Count < 0 || run.FirstCluster + run.Count > guestClusters)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.OutOfBounds,
                    $"clusters {run.FirstCluster}..{run.FirstCluster + run.Count - 1} are outside the image", Path,
                    run.FirstCluster << Header.ClusterBits, "writing");
            }

            for (var i = 0; i < run.Count; i++)
            {
                clusters[n++] = run.FirstCluster + i;
            }
        }

        return clusters;
    }

    private (L2Table Table, int Index)[] EnsureL2Tables(long[] clusters, List<long> newL1Entries)
    {
        var result = new (L2Table, int)[clusters.Length];
        for (var i = 0; i < clusters.Length; i++)
        {
            var cluster = clusters[i];
            var l1Index = cluster / _l2Entries;
            var l1Entry = _l1[l1Index];
            var l2Offset = (long)(l1Entry & Qcow2Constants.OffsetMask);
            L2Table table;
            if (l2Offset == 0)
            {
                var offset = Refcounts.Allocate(1);
                table = _l2Cache.AddNew(offset);
                _l1[l1Index] = (ulong)offset | Qcow2Constants.CopiedFlag;
                newL1Entries.Add(l1Index);
            }
            else
            {
                if ((l1Entry & Qcow2Constants.CopiedFlag) == 0)
                {
                    throw new Qcow2Exception(Qcow2ErrorKind.UnsupportedFeature,
                        $"L2 table {l1Index} is shared (refcount above 1); copy-on-write of shared tables is not supported", Path);
                }

                // Its updates are written back where it lies: not past the end of the file unless counted there.
                RequireCountedPastEnd(l2Offset, ClusterSize);
                table = _l2Cache.Get(l2Offset);
            }

            result[i] = (table, (int)(cluster % _l2Entries));
        }

        return result;
    }

    /// <summary>Decides each cluster's new L2 entry: in place, zero flag, or a newly allocated cluster (the first free runs).</summary>
    private Target[] PlanTargets(long[] clusters, ReadOnlySpan<bool> zero, (L2Table Table, int Index)[] tables, List<long> frees, bool unmap)
    {
        var count = clusters.Length;
        var plan = new Target[count];
        var needNew = new List<int>();
        var zeroFlagAllowed = Header.Version >= 3;
        for (var i = 0; i < count; i++)
        {
            var (table, index) = tables[i];
            var current = table[index];
            var kind = current.Kind(Header.Version);
            if (kind == ClusterKind.Compressed)
            {
                CollectCompressedFrees(current, frees);
            }

            var canReuse = kind is ClusterKind.Data or ClusterKind.ZeroAllocated;
            if (canReuse && !current.IsCopied)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.UnsupportedFeature,
                    $"cluster {clusters[i]} is shared (refcount above 1); copy-on-write of shared clusters is not supported", Path);
            }

            if (zeroFlagAllowed && zero[i] && unmap && canReuse)
            {
                frees.Add(current.HostOffset >> Header.ClusterBits);
                plan[i] = new Target(L2Entry.ZeroPlain, -1);
            }
            else if (zeroFlagAllowed && zero[i])
            {
                plan[i] = new Target(canReuse ? L2Entry.ZeroAt(current.HostOffset) : L2Entry.ZeroPlain, -1);
            }
            else if (canReuse)
            {
                RequireCountedPastEnd(current.HostOffset, ClusterSize);
                plan[i] = new Target(L2Entry.DataAt(current.HostOffset), current.HostOffset);
            }
            else
            {
                needNew.Add(i);
            }
        }

        var placed = 0;
        while (placed < needNew.Count)
        {
            // Run by run: a healthy image's free space is one run at the end of the file, a fragmented one's is filled.
            var (start, length) = Refcounts.AllocateUpTo(needNew.Count - placed);
            for (var n = 0; n < length; n++, placed++)
            {
                var host = start + ((long)n << Header.ClusterBits);
                plan[needNew[placed]] = new Target(L2Entry.DataAt(host), host);
            }
        }

        return plan;
    }

    private void CollectCompressedFrees(L2Entry entry, List<long> frees)
    {
        var (_, _, alignedStart, sectorBytes) = entry.CompressedLocation(Header.ClusterBits);
        var first = alignedStart >> Header.ClusterBits;
        var last = (alignedStart + sectorBytes - 1) >> Header.ClusterBits;
        for (var c = first; c <= last; c++)
        {
            frees.Add(c);
        }
    }

    /// <summary>Writes the data of the planned clusters, one write per run of contiguous host clusters.</summary>
    private void WriteDataRuns(Target[] plan, ReadOnlySpan<byte> data)
    {
        var cs = ClusterSize;
        var i = 0;
        while (i < plan.Length)
        {
            if (plan[i].DataOffset < 0)
            {
                i++;
                continue;
            }

            var runStart = i;
            while (i + 1 < plan.Length && plan[i + 1].DataOffset == plan[i].DataOffset + cs)
            {
                i++;
            }

            var runLength = i - runStart + 1;
            _file.Write(data.Slice(runStart * cs, runLength * cs), plan[runStart].DataOffset);
            i++;
        }
    }

    private void WriteL1Entry(long l1Index)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, _l1[l1Index]);
        _file.Write(buffer, Header.L1TableOffset + (l1Index * 8));
    }
}
