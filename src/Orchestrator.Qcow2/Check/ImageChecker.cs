using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Check;

/// <summary>
/// Counts every reference to every host cluster (header, L1, L2, data, compressed data, refcount structures,
/// snapshots) and compares the counts with the stored refcounts, like qemu-img check.
/// Refcount below references = corruption; above = leak (repairable by lowering it).
/// </summary>
public sealed class ImageChecker
{
    private const int MaxMessages = 200;

    /// <summary>The largest single read of back-to-back L2 tables.</summary>
    private const int L2BatchBytes = 4 << 20;

    private readonly Qcow2Image _image;
    private readonly long _fileLength;
    private readonly long _fileClusters;
    private readonly uint[] _refs;
    private readonly Dictionary<long, ulong> _refsBeyondEnd = [];
    private readonly List<string> _messages = [];
    private readonly List<(long L1Index, long L2Offset, ulong L1Entry)> _activeL2 = [];
    private readonly List<(long HostCluster, ulong Entry, long GuestCluster)> _activeData = [];
    private readonly HashSet<long> _metadataClusters = [];
    private long _l2WalkBudget;
    private long _cachedBlockIndex = -1;
    private Metadata.RefcountBlock? _cachedBlock;

    // Refcount entries per block are a power of two: cluster -> block is a shift, not a division.
    private readonly int _perBlockShift;

    private int _corruptions;
    private string? _firstCorruption;

    private ImageChecker(Qcow2Image image)
    {
        _image = image;
        _fileLength = image.File.Length;
        _fileClusters = (_fileLength + image.ClusterSize - 1) / image.ClusterSize;
        _refs = new uint[_fileClusters];
        _l2WalkBudget = ((long)image.Header.SnapshotCount + 1) * (_fileClusters + 1);
        _perBlockShift = image.Header.ClusterBits + 3 - image.Header.RefcountOrder;
    }

    public static CheckResult Check(Qcow2Image image, bool repairLeaks)
    {
        var checker = new ImageChecker(image);
        return checker.Run(repairLeaks);
    }

    private CheckResult Run(bool repairLeaks)
    {
        var h = _image.Header;
        var cs = _image.ClusterSize;
        try
        {
            AddRef(0, cs, "the header");
            CountL1(h.L1TableOffset, h.L1Size, active: true);
            CountSnapshots();
            CountBitmaps();
            CountRefcountStructures();
        }
        catch (Qcow2Exception e) when (e.Kind is Qcow2ErrorKind.Corrupt or Qcow2ErrorKind.OutOfBounds or Qcow2ErrorKind.InvalidFormat)
        {
            Corruption(e.Detail);
        }

        CheckMetadataSharing();
        var leaks = CompareRefcounts(out var leaked);
        if (_corruptions == 0)
        {
            // A repair must not make the image corrupt: judge the flags by the refcounts it would leave. A cluster
            // still referenced but counted too high (a lost snapshot table shared it) drops to 1 and needs the flag.
            CheckCopiedFlags(repairLeaks ? leaked.ToDictionary(l => l.Cluster, l => l.Refs) : null);
        }

        var fixedLeaks = 0;
        if (repairLeaks && _corruptions == 0 && leaked.Count > 0)
        {
            foreach (var (cluster, refs) in leaked)
            {
                _image.Refcounts.Set(cluster, refs);
            }

            _image.Refcounts.WriteDirty();
            _image.Flush();
            fixedLeaks = leaked.Count;
            _messages.Add($"Repaired {fixedLeaks} leaked cluster(s).");
        }

        var allocated = _refsBeyondEnd.Count + CountNonZero(_refs);
        var guestClusters = (h.Size + cs - 1) / cs;
        return new CheckResult(_corruptions, leaks, fixedLeaks, _messages, allocated, guestClusters, _fileLength) { FirstCorruption = _firstCorruption };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long CountNonZero(uint[] refs)
    {
        var count = 0L;
        foreach (var r in refs)
        {
            if (r > 0)
            {
                count++;
            }
        }

        return count;
    }

    private void CountL1(long l1Offset, uint l1Size, bool active)
    {
        if (l1Size == 0)
        {
            return;
        }

        if (l1Offset % _image.ClusterSize != 0)
        {
            Corruption($"L1 table at offset {l1Offset} is not cluster aligned");
            return;
        }

        if (!AddMetadataRef(l1Offset, (long)l1Size * 8, "an L1 table"))
        {
            return;
        }

        var raw = new byte[l1Size * 8];
        _image.File.Read(raw, l1Offset);
        var seen = new HashSet<long>();
        var toCount = new List<(long L1Index, long L2Offset)>();
        for (var i = 0L; i < l1Size; i++)
        {
            var entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan((int)(i * 8)));
            var l2Offset = (long)(entry & Qcow2Constants.OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }

            if (l2Offset % _image.ClusterSize != 0)
            {
                Corruption($"L1 entry {i} points at unaligned L2 table offset {l2Offset}");
                continue;
            }

            if (!(active ? AddMetadataRef(l2Offset, _image.ClusterSize, $"L1 entry {i}") : AddRef(l2Offset, _image.ClusterSize, $"L1 entry {i}"))
                || !seen.Add(l2Offset))
            {
                continue;
            }

            if (--_l2WalkBudget < 0)
            {
                Corruption("more L2 table references than the file has clusters");
                break;
            }

            if (active)
            {
                _activeL2.Add((i, l2Offset, entry));
            }

            toCount.Add((i, l2Offset));
        }

        CountL2Tables(toCount, active);
    }

    /// <summary>
    /// Reads the L2 tables in batches (consecutive L1 entries whose tables lie back to back on the host, as
    /// preallocation and sequential allocation place them: one read instead of one per table) and counts them.
    /// </summary>
    private void CountL2Tables(List<(long L1Index, long L2Offset)> tables, bool active)
    {
        var cs = _image.ClusterSize;
        var maxBatch = Math.Max(1, L2BatchBytes / cs);
        var buffer = new byte[(long)Math.Min(maxBatch, Math.Max(tables.Count, 1)) * cs];
        var i = 0;
        while (i < tables.Count)
        {
            var n = 1;
            while (i + n < tables.Count && n < maxBatch && tables[i + n].L2Offset == tables[i].L2Offset + ((long)n * cs))
            {
                n++;
            }

            var batch = buffer.AsSpan(0, n * cs);
            _image.File.Read(batch, tables[i].L2Offset);
            for (var k = 0; k < n; k++)
            {
                CountL2(batch.Slice(k * cs, cs), tables[i + k].L1Index, active);
            }

            i += n;
        }
    }

    // Hot loops (one pass per cluster) are compiled fully optimized at once: a check runs once per process, and
    // tier-0 code would spend most of it in an unoptimized loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CountL2(ReadOnlySpan<byte> raw, long l1Index, bool active)
    {
        var entries = _image.L2Entries;
        var version = _image.Header.Version;
        var cs = _image.ClusterSize;
        var clusterBits = _image.Header.ClusterBits;
        var l2Bits = clusterBits - 3;
        for (var j = 0; j < entries; j++)
        {
            var value = BinaryPrimitives.ReadUInt64BigEndian(raw[(j * 8)..]);
            if (value == 0)
            {
                continue;
            }

            var entry = new L2Entry(value);
            var guestCluster = (l1Index << l2Bits) + j;
            switch (entry.Kind(version))
            {
                case ClusterKind.Data or ClusterKind.ZeroAllocated:
                    var host = entry.HostOffset;
                    if ((host & (cs - 1)) != 0)
                    {
                        Corruption($"L2 entry for guest cluster {guestCluster} has unaligned offset {host}");
                        break;
                    }

                    var cluster = host >> clusterBits;
                    if (cluster < _fileClusters)
                    {
                        // The common case, without building a description nobody reads.
                        _refs[cluster]++;
                    }
                    else if (!AddRef(host, cs, $"guest cluster {guestCluster}"))
                    {
                        break;
                    }

                    if (active)
                    {
                        NoteCopiedFlag(cluster, entry, guestCluster);
                    }

                    break;
                case ClusterKind.Compressed:
                    var (_, _, alignedStart, sectorBytes) = entry.CompressedLocation(clusterBits);
                    AddRef(alignedStart, sectorBytes, $"compressed guest cluster {guestCluster}");
                    break;
            }
        }
    }

    /// <summary>
    /// A data entry with OFLAG_COPIED over a stored refcount of 1 is right whatever the rest of the count finds (a
    /// second reference is reported as a refcount error, and a leak repair cannot lower a referenced cluster below 1);
    /// only the others wait for <see cref="CheckCopiedFlags"/>. So a clean image keeps no per-cluster list.
    /// </summary>
    private void NoteCopiedFlag(long hostCluster, L2Entry entry, long guestCluster)
    {
        if (entry.IsCopied && StoredRefcount(hostCluster) == 1)
        {
            return;
        }

        _activeData.Add((hostCluster, entry.Raw, guestCluster));
    }

    /// <summary>The stored refcount through a one-block cache (data clusters come in host order); 0 when unreadable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong StoredRefcount(long cluster)
    {
        var blockIndex = cluster >> _perBlockShift;
        if (blockIndex != _cachedBlockIndex)
        {
            LoadCachedBlock(blockIndex);
        }

        return _cachedBlock?.Get((int)(cluster & ((1L << _perBlockShift) - 1))) ?? 0;
    }

    private void LoadCachedBlock(long blockIndex)
    {
        try
        {
            _cachedBlock = _image.Refcounts.BlockAt(blockIndex);
        }
        catch (Qcow2Exception e) when (e.Kind != Qcow2ErrorKind.Io)
        {
            // Reported where the refcounts are compared; here it only sends the entry to the later check.
            _cachedBlock = null;
        }

        _cachedBlockIndex = blockIndex;
    }

    private void CountSnapshots()
    {
        var h = _image.Header;
        if (h.SnapshotCount == 0)
        {
            return;
        }

        var (tableBytes, snapshots) = SnapshotTable.Read(_image.File, h.SnapshotsOffset, h.SnapshotCount, _fileLength);
        AddRef(h.SnapshotsOffset, tableBytes, "the snapshot table");
        foreach (var (l1Offset, l1Size) in snapshots)
        {
            if ((long)l1Size * 8 > Qcow2Constants.MaxL1TableBytes)
            {
                Corruption($"snapshot L1 table with {l1Size} entries is too large");
                continue;
            }

            CountL1(l1Offset, l1Size, active: false);
        }
    }

    /// <summary>Persistent dirty bitmaps: the directory, each bitmap table, and the data clusters those tables point at.</summary>
    private void CountBitmaps()
    {
        var extension = _image.Header.OtherExtensions.FirstOrDefault(e => e.Type == Qcow2Constants.ExtBitmaps);
        if (extension is null || extension.Data.Length < 24)
        {
            return;
        }

        foreach (var (offset, length, what) in BitmapDirectory.References(_image.File, extension.Data, _fileLength))
        {
            AddRef(offset, length, what);
        }
    }

    private void CountRefcountStructures()
    {
        var refcounts = _image.Refcounts;
        AddMetadataRef(refcounts.TableOffset, (long)refcounts.TableClusters * _image.ClusterSize, "the refcount table");
        var table = refcounts.TableEntries;
        for (var i = 0; i < table.Count; i++)
        {
            var offset = (long)(table[i] & ~Qcow2Constants.RefcountTableReservedMask);
            if (offset == 0)
            {
                continue;
            }

            if (offset % _image.ClusterSize != 0 || offset < 0 || offset >= _fileLength)
            {
                Corruption($"refcount block {i} at offset {offset} is {(offset >= _fileLength ? "outside the image" : "not cluster aligned")}");
                continue;
            }

            AddMetadataRef(offset, _image.ClusterSize, $"refcount block {i}");
        }
    }

    /// <summary>A reference to a metadata cluster of the active state, which nothing else may share.</summary>
    private bool AddMetadataRef(long offset, long length, string what)
    {
        if (!AddRef(offset, length, what))
        {
            return false;
        }

        var cs = _image.ClusterSize;
        for (var c = offset / cs; c <= (offset + Math.Max(length, 1) - 1) / cs; c++)
        {
            _metadataClusters.Add(c);
        }

        return true;
    }

    /// <summary>QEMU treats a refcount block, L1 or L2 table or the refcount table that is referenced twice as corruption.</summary>
    private void CheckMetadataSharing()
    {
        foreach (var cluster in _metadataClusters.Order())
        {
            var refs = cluster < _fileClusters ? _refs[cluster] : _refsBeyondEnd.GetValueOrDefault(cluster);
            if (refs > 1)
            {
                Corruption($"ERROR metadata cluster {cluster} is referenced {refs} times (it overlaps other metadata or data)");
            }
        }
    }

    /// <summary>Counts one reference to every cluster in [offset, offset+length); false when the range is impossible.</summary>
    private bool AddRef(long offset, long length, string what)
    {
        var cs = _image.ClusterSize;
        var first = offset / cs;
        var last = (offset + Math.Max(length, 1) - 1) / cs;
        if (offset < 0 || last >= _fileClusters + (1L << 20))
        {
            Corruption($"{what} points at offset {offset}, far beyond the end of the file");
            return false;
        }

        for (var c = first; c <= last; c++)
        {
            if (c < _fileClusters)
            {
                _refs[c]++;
            }
            else
            {
                _refsBeyondEnd[c] = _refsBeyondEnd.GetValueOrDefault(c) + 1;
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int CompareRefcounts(out List<(long Cluster, ulong Refs)> leaked)
    {
        leaked = [];
        var refcounts = _image.Refcounts;
        var perBlock = refcounts.EntriesPerBlock;
        for (var start = 0L; start < _fileClusters; start += perBlock)
        {
            var end = Math.Min(start + perBlock, _fileClusters);
            Metadata.RefcountBlock? block;
            try
            {
                block = refcounts.BlockAt(start / perBlock);
            }
            catch (Qcow2Exception e) when (e.Kind != Qcow2ErrorKind.Io)
            {
                for (var c = start; c < end; c++)
                {
                    Corruption($"cannot read the refcount of cluster {c}: {e.Detail}");
                }

                continue;
            }

            // One block at a time: no table lookup per cluster.
            for (var c = start; c < end; c++)
            {
                var refs = (ulong)_refs[c];
                var stored = block?.Get((int)(c - start)) ?? 0;
                if (stored != refs)
                {
                    Differ(c, stored, refs, leaked);
                }
            }
        }

        foreach (var (c, refs) in _refsBeyondEnd.OrderBy(kv => kv.Key))
        {
            Compare(c, refs, leaked, refcounts);
        }

        CompareBeyondEnd(leaked, refcounts);
        return leaked.Count;
    }

    /// <summary>
    /// Refcounts set for clusters past the end of the file that nothing references: a crash between writing a refcount
    /// block and the data it counts leaves them. qemu-img check does not look there; we do, so a writable open gives them back.
    /// </summary>
    private void CompareBeyondEnd(List<(long Cluster, ulong Refs)> leaked, Metadata.RefcountTable refcounts)
    {
        var entries = refcounts.EntriesPerBlock;
        var scanEnd = _fileClusters + (1L << 20);
        var table = refcounts.TableEntries;
        for (var b = 0L; b < table.Count; b++)
        {
            var rangeStart = b * entries;
            var rangeEnd = rangeStart + entries;
            if (table[(int)b] == 0 || rangeEnd <= _fileClusters || rangeStart >= scanEnd)
            {
                continue;
            }

            Metadata.RefcountBlock? block;
            try
            {
                block = refcounts.BlockAt(b);
            }
            catch (Qcow2Exception e) when (e.Kind != Qcow2ErrorKind.Io)
            {
                // One corrupt table entry is one corruption, not one per cluster it would cover.
                Corruption($"refcount block {b}: {e.Detail}");
                continue;
            }

            for (var c = Math.Max(rangeStart, _fileClusters); block is not null && c < Math.Min(rangeEnd, scanEnd); c++)
            {
                if (!_refsBeyondEnd.ContainsKey(c) && block.Get((int)(c - rangeStart)) > 0)
                {
                    Compare(c, 0, leaked, refcounts);
                }
            }
        }
    }

    private void Compare(long cluster, ulong refs, List<(long, ulong)> leaked, Metadata.RefcountTable refcounts)
    {
        ulong stored;
        try
        {
            stored = refcounts.Get(cluster);
        }
        catch (Qcow2Exception e) when (e.Kind != Qcow2ErrorKind.Io)
        {
            // A disk error is not the image's fault: it ends the check (an I/O error, as qemu-img check's exit 1).
            Corruption($"cannot read the refcount of cluster {cluster}: {e.Detail}");
            return;
        }

        Differ(cluster, stored, refs, leaked);
    }

    private void Differ(long cluster, ulong stored, ulong refs, List<(long, ulong)> leaked)
    {
        if (stored < refs)
        {
            Corruption($"ERROR cluster {cluster} refcount={stored} reference={refs}");
        }
        else if (stored > refs)
        {
            leaked.Add((cluster, refs));
            Message($"Leaked cluster {cluster} refcount={stored} reference={refs}");
        }
    }

    /// <summary>
    /// QEMU's OFLAG_COPIED rule: the flag is set exactly when the refcount is 1; with <paramref name="afterRepair"/>,
    /// the refcounts the leak repair would write stand in for the stored ones.
    /// </summary>
    private void CheckCopiedFlags(Dictionary<long, ulong>? afterRepair)
    {
        var refcounts = _image.Refcounts;
        ulong RefcountOf(long cluster) => afterRepair is not null && afterRepair.TryGetValue(cluster, out var repaired) ? repaired : refcounts.Get(cluster);
        foreach (var (l1Index, l2Offset, l1Entry) in _activeL2)
        {
            var isOne = RefcountOf(l2Offset / _image.ClusterSize) == 1;
            if (isOne != ((l1Entry & Qcow2Constants.CopiedFlag) != 0))
            {
                Corruption($"ERROR OFLAG_COPIED L2 cluster: l1_index={l1Index} l1_entry={l1Entry:x} refcount={(isOne ? 1 : 0)}");
            }
        }

        foreach (var (hostCluster, entry, guestCluster) in _activeData)
        {
            var isOne = RefcountOf(hostCluster) == 1;
            if (isOne != ((entry & Qcow2Constants.CopiedFlag) != 0))
            {
                Corruption($"ERROR OFLAG_COPIED data cluster: guest cluster {guestCluster} l2_entry={entry:x} refcount={(isOne ? 1 : 0)}");
            }
        }
    }

    private void Corruption(string message)
    {
        _corruptions++;
        _firstCorruption ??= message;
        Message(message);
    }

    private void Message(string message)
    {
        if (_messages.Count < MaxMessages)
        {
            _messages.Add(message);
        }
    }
}
