using System.Buffers.Binary;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Where the metadata of a valid base image lives, read without the library under test, so mutations can aim
/// at the header fields, extensions, L1/L2 tables, refcount structures and snapshots.
/// </summary>
internal sealed record ImageLayout
{
    public required int ClusterBits { get; init; }
    public required uint Version { get; init; }
    public required long FileLength { get; init; }
    public required long VirtualSize { get; init; }

    /// <summary>File offsets of every header extension's {type, length} pair, the end marker excluded.</summary>
    public required IReadOnlyList<int> ExtensionHeaders { get; init; }

    /// <summary>Offset just past the end-of-extensions marker: free space in cluster 0 starts here.</summary>
    public required int ExtensionsEnd { get; init; }

    public required long BackingNameOffset { get; init; }
    public required int BackingNameLength { get; init; }
    public required long L1Offset { get; init; }
    public required int L1Size { get; init; }
    public required IReadOnlyList<long> L2Tables { get; init; }

    /// <summary>File offsets of L2 entries that are not 0 (data, zero, compressed).</summary>
    public required IReadOnlyList<long> L2EntryPositions { get; init; }

    public required IReadOnlyList<long> CompressedEntryPositions { get; init; }
    public required IReadOnlyList<long> DataClusters { get; init; }
    public required long RefcountTableOffset { get; init; }
    public required int RefcountTableClusters { get; init; }
    public required IReadOnlyList<long> RefcountBlocks { get; init; }
    public required int RefcountOrder { get; init; }
    public required long SnapshotsOffset { get; init; }
    public required int SnapshotCount { get; init; }

    /// <summary>File offsets of each snapshot table entry.</summary>
    public required IReadOnlyList<long> SnapshotEntries { get; init; }

    public required IReadOnlyList<long> SnapshotL1Tables { get; init; }

    public int ClusterSize => 1 << ClusterBits;

    public long HeaderFieldsEnd => Version == 2 ? 72 : 104;

    /// <summary>Clusters holding metadata: header, L1, L2, refcount table and blocks, snapshot table and its L1s.</summary>
    public IEnumerable<long> MetadataClusters
    {
        get
        {
            yield return 0;
            yield return L1Offset;
            foreach (var l2 in L2Tables)
            {
                yield return l2;
            }

            for (var i = 0; i < RefcountTableClusters; i++)
            {
                yield return RefcountTableOffset + ((long)i * ClusterSize);
            }

            foreach (var block in RefcountBlocks)
            {
                yield return block;
            }

            if (SnapshotCount > 0)
            {
                yield return SnapshotsOffset;
            }

            foreach (var l1 in SnapshotL1Tables)
            {
                yield return l1;
            }
        }
    }

    public static ImageLayout Read(byte[] image)
    {
        var b = image.AsSpan();
        var version = BinaryPrimitives.ReadUInt32BigEndian(b[4..]);
        var clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(b[20..]);
        var cs = 1 << clusterBits;
        var headerLength = version == 2 ? 72 : (int)BinaryPrimitives.ReadUInt32BigEndian(b[100..]);
        var backingOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(b[8..]);
        var backingLength = (int)BinaryPrimitives.ReadUInt32BigEndian(b[16..]);

        var extensions = new List<int>();
        var at = headerLength;
        while (at + 8 <= cs && BinaryPrimitives.ReadUInt32BigEndian(b[at..]) != 0)
        {
            extensions.Add(at);
            at += 8 + (int)((BinaryPrimitives.ReadUInt32BigEndian(b[(at + 4)..]) + 7) & ~7u);
        }

        var l1Size = (int)BinaryPrimitives.ReadUInt32BigEndian(b[36..]);
        var l1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(b[40..]);
        var l2Tables = new List<long>();
        var entries = new List<long>();
        var compressed = new List<long>();
        var data = new List<long>();
        for (var i = 0; i < l1Size; i++)
        {
            var l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(b[(int)(l1Offset + (i * 8))..]) & 0x00FF_FFFF_FFFF_FE00UL);
            if (l2 == 0)
            {
                continue;
            }

            l2Tables.Add(l2);
            for (var j = 0; j < cs / 8; j++)
            {
                var position = l2 + (j * 8);
                var entry = BinaryPrimitives.ReadUInt64BigEndian(b[(int)position..]);
                if (entry == 0)
                {
                    continue;
                }

                entries.Add(position);
                if ((entry & (1UL << 62)) != 0)
                {
                    compressed.Add(position);
                }
                else if ((entry & 0x00FF_FFFF_FFFF_FE00UL) != 0)
                {
                    data.Add((long)(entry & 0x00FF_FFFF_FFFF_FE00UL));
                }
            }
        }

        var rtOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(b[48..]);
        var rtClusters = (int)BinaryPrimitives.ReadUInt32BigEndian(b[56..]);
        var blocks = new List<long>();
        for (var i = 0; i < rtClusters * cs / 8; i++)
        {
            var block = (long)(BinaryPrimitives.ReadUInt64BigEndian(b[(int)(rtOffset + (i * 8))..]) & ~0x1FFUL);
            if (block != 0)
            {
                blocks.Add(block);
            }
        }

        var snapshotCount = (int)BinaryPrimitives.ReadUInt32BigEndian(b[60..]);
        var snapshotsOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(b[64..]);
        var snapshotEntries = new List<long>();
        var snapshotL1s = new List<long>();
        var position2 = snapshotsOffset;
        for (var i = 0; i < snapshotCount; i++)
        {
            snapshotEntries.Add(position2);
            var e = b[(int)position2..];
            snapshotL1s.Add((long)BinaryPrimitives.ReadUInt64BigEndian(e));
            var idSize = BinaryPrimitives.ReadUInt16BigEndian(e[12..]);
            var nameSize = BinaryPrimitives.ReadUInt16BigEndian(e[14..]);
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(e[36..]);
            position2 += (40 + extraSize + idSize + nameSize + 7) & ~7L;
        }

        return new ImageLayout
        {
            ClusterBits = clusterBits,
            Version = version,
            FileLength = image.LongLength,
            VirtualSize = (long)BinaryPrimitives.ReadUInt64BigEndian(b[24..]),
            ExtensionHeaders = extensions,
            ExtensionsEnd = at + 8,
            BackingNameOffset = backingOffset,
            BackingNameLength = backingLength,
            L1Offset = l1Offset,
            L1Size = l1Size,
            L2Tables = l2Tables,
            L2EntryPositions = entries,
            CompressedEntryPositions = compressed,
            DataClusters = data,
            RefcountTableOffset = rtOffset,
            RefcountTableClusters = rtClusters,
            RefcountBlocks = blocks,
            RefcountOrder = version == 2 ? 4 : (int)BinaryPrimitives.ReadUInt32BigEndian(b[96..]),
            SnapshotsOffset = snapshotsOffset,
            SnapshotCount = snapshotCount,
            SnapshotEntries = snapshotEntries,
            SnapshotL1Tables = snapshotL1s,
        };
    }
}
