using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Metadata;

/// <summary>
/// Refcounts and cluster allocation. Write order, as QEMU enforces it:
/// refcount blocks reach the disk (and a flush) before any L2 entry points at a newly counted cluster;
/// a new refcount block is written and flushed before the table entry that points to it;
/// a grown table and its blocks are written and flushed before the header switches to them.
/// So a crash can only leave refcounts above the real references: leaks, never corruption.
/// </summary>
internal sealed class RefcountTable
{
    private readonly ImageFile _file;
    private readonly int _clusterSize;
    private readonly int _clusterBits;
    private readonly int _refcountOrder;
    private readonly int _entriesPerBlock;
    private readonly Action<long, uint> _commitTable;
    private readonly Action _beforeWrite;
    private readonly Dictionary<long, RefcountBlock> _blocks = [];
    private ulong[] _table;
    private long _tableOffset;
    private long _freeCursor;

    // The run an Allocate call is counting: refcount blocks created meanwhile (and a grown table) must not land in it,
    // even if freeing the old table moved the cursor back below it.
    private long _reservedStart;
    private long _reservedEnd;

    // Clusters that hold metadata known without reading any refcount (the header, the L1 table): a "free" one means the
    // refcounts are corrupt, and allocating it would overwrite that metadata. QEMU's overlap check refuses the same.
    private readonly List<(long First, long End)> _protected = [];

    /// <param name="beforeWrite">Called before any refcount block or table write (the image sets its dirty bit there).</param>
    public RefcountTable(ImageFile file, Qcow2Header header, Action<long, uint> commitTable, Action beforeWrite)
    {
        _file = file;
        _clusterSize = header.ClusterSize;
        _clusterBits = header.ClusterBits;
        _refcountOrder = header.RefcountOrder;
        _entriesPerBlock = (_clusterSize * 8) >> _refcountOrder;
        _commitTable = commitTable;
        _beforeWrite = beforeWrite;
        _tableOffset = header.RefcountTableOffset;
        _table = ReadTable(header.RefcountTableOffset, header.RefcountTableClusters);
    }

    /// <summary>Host offsets use bits 9-55 of table entries; anything larger is a corrupt entry, not a place to read.</summary>
    public const long MaxHostOffset = 1L << 56;

    /// <summary>The refcount block of table slot <paramref name="blockIndex"/>, or null if the slot is empty.</summary>
    internal RefcountBlock? BlockAt(long blockIndex) => TryGetBlock(blockIndex);

    public ulong MaxRefcount => _refcountOrder == 6 ? ulong.MaxValue : (1UL << (1 << _refcountOrder)) - 1;

    public int EntriesPerBlock => _entriesPerBlock;

    public IReadOnlyList<ulong> TableEntries => _table;

    public long TableOffset => _tableOffset;

    public int TableClusters => (int)((_table.LongLength * 8 + _clusterSize - 1) / _clusterSize);

    private ulong[] ReadTable(long offset, uint clusters)
    {
        var raw = new byte[(long)clusters * _clusterSize];
        _file.Read(raw, offset);
        var table = new ulong[raw.Length / 8];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return table;
    }

    /// <summary>
    /// What a writable open checks instead of reading every refcount block: each table entry is cluster aligned and
    /// points inside the file (the entries are in memory already; no block is read).
    /// </summary>
    public void ValidateTable(long fileLength)
    {
        for (var i = 0L; i < _table.LongLength; i++)
        {
            var offset = (long)(_table[i] & ~Qcow2Constants.RefcountTableReservedMask);
            if (offset == 0)
            {
                continue;
            }

            if (offset % _clusterSize != 0 || offset < 0 || offset >= fileLength)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt,
                    $"refcount block {i} at offset 0x{(ulong)offset:x} is {(offset % _clusterSize != 0 ? "not cluster aligned" : "outside the image")}", _file.Path);
            }
        }
    }

    /// <summary>The refcount of a host cluster; clusters outside every refcount block have refcount 0.</summary>
    public ulong Get(long clusterIndex)
    {
        var block = TryGetBlock(clusterIndex / _entriesPerBlock);
        return block?.Get((int)(clusterIndex % _entriesPerBlock)) ?? 0;
    }

    public void Set(long clusterIndex, ulong value)
    {
        if (value > MaxRefcount)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.UnsupportedFeature,
                $"refcount of cluster {clusterIndex} would exceed the {1 << _refcountOrder}-bit maximum", _file.Path);
        }

        var block = EnsureBlock(clusterIndex / _entriesPerBlock);
        block.Set((int)(clusterIndex % _entriesPerBlock), value);
    }

    public void Increment(long clusterIndex) => Set(clusterIndex, Get(clusterIndex) + 1);

    public void Decrement(long clusterIndex)
    {
        var current = Get(clusterIndex);
        if (current == 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"freeing cluster {clusterIndex} whose refcount is already 0", _file.Path);
        }

        Set(clusterIndex, current - 1);
        if (current == 1 && clusterIndex < _freeCursor)
        {
            _freeCursor = clusterIndex;
        }
    }

    /// <summary>
    /// Finds <paramref name="count"/> contiguous free clusters, sets their refcounts to 1 in memory and returns
    /// the host offset of the first. The caller writes the dirty blocks (<see cref="WriteDirty"/>) and flushes
    /// before pointing any L2 entry at them.
    /// </summary>
    public long Allocate(int count) => Claim(FindFreeRun(_freeCursor, count), count);

    /// <summary>
    /// Allocates the first free run of at most <paramref name="max"/> clusters, however short, and returns its host
    /// offset and length. Data clusters need not be contiguous, so taking runs as they come fills the holes that
    /// <see cref="Allocate"/> would skip: on a fragmented free map (freed clusters, or refcounts a corrupt block
    /// scattered) a contiguous request would grow the file past every hole shorter than itself.
    /// </summary>
    public (long Offset, int Count) AllocateUpTo(int max)
    {
        var start = FindFreeRunUnchecked(_freeCursor, 1);
        var count = 1;
        while (count < max && !IsReserved(start + count) && Get(start + count) == 0)
        {
            count++;
        }

        RefuseProtected(start, count);
        return (Claim(start, count), count);
    }

    private bool IsReserved(long cluster) => cluster >= _reservedStart && cluster < _reservedEnd;

    private long Claim(long start, int count)
    {
        _freeCursor = start + count;
        _reservedStart = start;
        _reservedEnd = start + count;
        try
        {
            for (var i = 0L; i < count; i++)
            {
                Set(start + i, 1);
            }
        }
        finally
        {
            _reservedStart = _reservedEnd = 0;
        }

        return start << _clusterBits;
    }

    /// <summary>Marks [offset, offset + bytes) as metadata the allocator must never hand out.</summary>
    public void Protect(long offset, long bytes)
    {
        if (bytes > 0)
        {
            _protected.Add((offset >> _clusterBits, (offset + bytes - 1 + _clusterSize) >> _clusterBits));
        }
    }

    private long FindFreeRun(long from, int count)
    {
        var start = FindFreeRunUnchecked(from, count);
        RefuseProtected(start, count);
        return start;
    }

    private void RefuseProtected(long start, int count)
    {
        var end = start + count;
        var tableFirst = _tableOffset >> _clusterBits;
        foreach (var (first, last) in _protected.Append((tableFirst, tableFirst + TableClusters)))
        {
            if (start < last && first < end)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt,
                    $"cluster {Math.Max(start, first)} holds metadata (the header, the L1 table or the refcount table) but its refcount is 0; "
                    + "the image is corrupt (run 'qemu-img check')", _file.Path, operation: "allocating");
            }
        }
    }

    private long FindFreeRunUnchecked(long from, int count)
    {
        var start = from;
        var run = 0;
        while (run < count)
        {
            if (IsReserved(start + run))
            {
                start = _reservedEnd;
                run = 0;
            }
            else if (Get(start + run) == 0)
            {
                run++;
            }
            else
            {
                start += run + 1;
                run = 0;
            }
        }

        return start;
    }

    /// <summary>Writes every dirty refcount block (one cluster write each). Does not flush.</summary>
    public void WriteDirty()
    {
        var dirty = _blocks.Values.Where(b => b.Dirty).OrderBy(b => b.HostOffset).ToList();
        if (dirty.Count == 0)
        {
            return;
        }

        _beforeWrite();
        foreach (var block in dirty)
        {
            _file.Write(block.Data, block.HostOffset);
            block.Dirty = false;
        }
    }

    public bool HasDirty => _blocks.Values.Any(b => b.Dirty);

    private RefcountBlock? TryGetBlock(long blockIndex)
    {
        if (_blocks.TryGetValue(blockIndex, out var block))
        {
            return block;
        }

        if (blockIndex >= _table.LongLength)
        {
            return null;
        }

        var offset = (long)(_table[blockIndex] & ~Qcow2Constants.RefcountTableReservedMask);
        if (offset == 0)
        {
            return null;
        }

        if (offset % _clusterSize != 0 || offset < 0 || offset >= MaxHostOffset)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"refcount block {blockIndex} has invalid offset 0x{(ulong)offset:x}", _file.Path);
        }

        var data = new byte[_clusterSize];
        _file.Read(data, offset);
        block = new RefcountBlock(offset, data, _refcountOrder);
        _blocks[blockIndex] = block;
        return block;
    }

    private RefcountBlock EnsureBlock(long blockIndex)
    {
        var existing = TryGetBlock(blockIndex);
        if (existing is not null)
        {
            return existing;
        }

        if (blockIndex >= _table.LongLength)
        {
            GrowTable(blockIndex + 1);
            existing = TryGetBlock(blockIndex);
            if (existing is not null)
            {
                return existing;
            }
        }

        return CreateBlock(blockIndex);
    }

    /// <summary>A new refcount block for table slot <paramref name="blockIndex"/>, counting itself when it lies in its own range.</summary>
    private RefcountBlock CreateBlock(long blockIndex)
    {
        _beforeWrite();
        var cluster = FindFreeRun(_freeCursor, 1);
        _freeCursor = cluster + 1;
        var block = new RefcountBlock(cluster << _clusterBits, new byte[_clusterSize], _refcountOrder);
        if (cluster / _entriesPerBlock == blockIndex)
        {
            block.Set((int)(cluster % _entriesPerBlock), 1);
        }
        else
        {
            Set(cluster, 1);
            WriteDirty();
        }

        _file.Write(block.Data, block.HostOffset);
        block.Dirty = false;
        _file.Flush();

        _table[blockIndex] = (ulong)block.HostOffset;
        WriteTableEntry(blockIndex);
        _file.Flush();
        _blocks[blockIndex] = block;
        return block;
    }

    private void WriteTableEntry(long index)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, _table[index]);
        _file.Write(buffer, _tableOffset + (index * 8));
    }

    /// <summary>
    /// Grows the table to hold at least <paramref name="minEntries"/> entries: the new table and any refcount
    /// blocks needed to count it are placed at the end of the allocated area, written, flushed, and only then
    /// the header switches to the new table (the commit point). The old table's clusters are freed afterwards.
    /// </summary>
    private void GrowTable(long minEntries)
    {
        _beforeWrite();
        var entriesPerCluster = _clusterSize / 8;
        var newEntries = Math.Max(minEntries, _table.LongLength + (_table.LongLength / 2) + 1);
        var tableClusters = (int)((newEntries + entriesPerCluster - 1) / entriesPerCluster);
        if ((long)tableClusters * _clusterSize > Qcow2Constants.MaxRefcountTableBytes)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.NoSpace, "the refcount table cannot grow past QEMU's 8 MiB limit", _file.Path);
        }

        var tableStart = FindFreeRun(_freeCursor, tableClusters);
        var newTable = new ulong[(long)tableClusters * entriesPerCluster];
        Array.Copy(_table, newTable, _table.LongLength);

        // Blocks for clusters not yet covered go right after the new table; each may need another block, so iterate.
        var newBlocks = new Dictionary<long, RefcountBlock>();
        var next = tableStart + tableClusters;
        var toCount = Enumerable.Range(0, tableClusters).Select(i => tableStart + i).ToList();
        for (var i = 0; i < toCount.Count; i++)
        {
            var blockIndex = toCount[i] / _entriesPerBlock;
            if (blockIndex >= newTable.LongLength)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, "refcount table growth did not converge", _file.Path);
            }

            if (newTable[blockIndex] == 0 && !newBlocks.ContainsKey(blockIndex))
            {
                var blockCluster = next++;
                newBlocks[blockIndex] = new RefcountBlock(blockCluster << _clusterBits, new byte[_clusterSize], _refcountOrder);
                toCount.Add(blockCluster);
            }
        }

        foreach (var cluster in toCount)
        {
            var blockIndex = cluster / _entriesPerBlock;
            var block = newBlocks.GetValueOrDefault(blockIndex) ?? TryGetBlock(blockIndex)!;
            block.Set((int)(cluster % _entriesPerBlock), 1);
        }

        foreach (var (index, block) in newBlocks)
        {
            newTable[index] = (ulong)block.HostOffset;
            _file.Write(block.Data, block.HostOffset);
            block.Dirty = false;
            _blocks[index] = block;
        }

        WriteDirty();
        var raw = new byte[(long)tableClusters * _clusterSize];
        for (var i = 0; i < newTable.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), newTable[i]);
        }

        _file.Write(raw, tableStart << _clusterBits);
        _file.Flush();

        var oldOffset = _tableOffset;
        var oldClusters = TableClusters;
        _commitTable(tableStart << _clusterBits, (uint)tableClusters);
        _table = newTable;
        _tableOffset = tableStart << _clusterBits;
        _freeCursor = Math.Max(_freeCursor, next);

        for (var i = 0; i < oldClusters; i++)
        {
            Decrement((oldOffset >> _clusterBits) + i);
        }

        WriteDirty();
    }
}
