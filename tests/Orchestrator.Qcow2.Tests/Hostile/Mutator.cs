using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Produces one mutated copy of a base image, logging every change precisely enough to redo it by hand
/// ("set l1_size (u32 @36) = 0xffffffff"), so a failure message is a reproduction recipe.
/// </summary>
internal sealed class Mutator
{
    private const ulong Copied = 1UL << 63;
    private const ulong CompressedFlag = 1UL << 62;

    private static readonly MutationFamily[] _combinable =
    [
        MutationFamily.HeaderBytes, MutationFamily.HeaderFields, MutationFamily.ExtensionsAndBackingName,
        MutationFamily.L1Table, MutationFamily.L2Tables, MutationFamily.Refcounts, MutationFamily.Snapshots,
        MutationFamily.Structural,
    ];

    private readonly Random _rng;
    private readonly ImageLayout _layout;
    private readonly string _targetName;
    private readonly List<string> _log = [];
    private byte[] _bytes;

    public Mutator(Random rng, BaseImage baseImage)
    {
        _rng = rng;
        _layout = baseImage.Layout;
        _targetName = baseImage.TargetFile;
        _bytes = (byte[])baseImage.Target.Clone();
    }

    private int ClusterSize => _layout.ClusterSize;

    public (byte[] Bytes, IReadOnlyList<string> Steps) Mutate(MutationFamily family)
    {
        if (family == MutationFamily.Combined)
        {
            var count = _rng.Next(2, 6);
            for (var i = 0; i < count; i++)
            {
                Apply(_combinable[_rng.Next(_combinable.Length)]);
            }

            if (_rng.Next(5) == 0)
            {
                Apply(MutationFamily.Truncation);
            }
        }
        else
        {
            Apply(family);
        }

        return (_bytes, _log);
    }

    private void Apply(MutationFamily family)
    {
        switch (family)
        {
            case MutationFamily.HeaderBytes:
                FlipBits(0, HeaderAreaEnd(), _rng.Next(1, 5), "header cluster");
                break;
            case MutationFamily.HeaderFields:
                HeaderField();
                break;
            case MutationFamily.ExtensionsAndBackingName:
                ExtensionOrBackingName();
                break;
            case MutationFamily.L1Table:
                L1Table();
                break;
            case MutationFamily.L2Tables:
                L2Tables();
                break;
            case MutationFamily.Refcounts:
                Refcounts();
                break;
            case MutationFamily.Snapshots:
                Snapshots();
                break;
            case MutationFamily.Structural:
                Structural();
                break;
            case MutationFamily.Truncation:
                Truncation();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(family), family, null);
        }
    }

    // ---- header -------------------------------------------------------------------------------

    private int HeaderAreaEnd()
    {
        var end = Math.Max(_layout.ExtensionsEnd, (int)Math.Min(_layout.BackingNameOffset + _layout.BackingNameLength, ClusterSize));
        return Math.Min(Math.Max(end, 112), _bytes.Length);
    }

    private void HeaderField()
    {
        var v3 = _layout.Version >= 3 || _rng.Next(4) == 0;
        var pick = _rng.Next(v3 ? 19 : 14);
        switch (pick)
        {
            case 0:
                SetU32(4, "version", Pick(0u, 1u, 2u, 3u, 4u, uint.MaxValue));
                break;
            case 1:
                SetU32(20, "cluster_bits", Pick(0u, 8u, 9u, 10u, 12u, 15u, 16u, 17u, 20u, 21u, 22u, 31u, 32u, 63u, 64u, uint.MaxValue));
                break;
            case 2:
                SetU64(24, "size", NastySize());
                break;
            case 3:
                SetU32(32, "crypt_method", Pick(1u, 2u, 3u, uint.MaxValue));
                break;
            case 4:
                SetU32(36, "l1_size", NastyL1Size());
                break;
            case 5:
                SetU64(40, "l1_table_offset", NastyOffset());
                break;
            case 6:
                SetU64(48, "refcount_table_offset", NastyOffset());
                break;
            case 7:
                SetU32(56, "refcount_table_clusters", Pick(NastyU32(), (uint)_layout.RefcountTableClusters + 1, 128u, 129u, 16384u, 16385u));
                break;
            case 8:
                SetU32(60, "nb_snapshots", Pick(NastyU32(), 1u, 2u, 3u, 65536u, 65537u));
                break;
            case 9:
                SetU64(64, "snapshots_offset", NastyOffset());
                break;
            case 10:
                SetU64(8, "backing_file_offset", NastyOffset());
                break;
            case 11:
                SetU32(16, "backing_file_size", Pick(NastyU32(), 1023u, 1024u, (uint)_layout.BackingNameLength + 1));
                break;
            case 12:
                SetU32(0, "magic", Pick(0u, 0x514649FAu, 0xFB494651u, (uint)_rng.Next()));
                break;
            case 13:
                // Version and layout disagree: v2 fields read as extensions, or v3 fields read from extension bytes.
                SetU32(4, "version", _layout.Version == 2 ? 3u : 2u);
                break;
            case 14:
                SetU64(72, "incompatible_features", Pick(1UL, 2UL, 4UL, 8UL, 16UL, 0x100UL, 1UL << _rng.Next(64), NextU64()));
                break;
            case 15:
                SetU64(80, "compatible_features", Pick(1UL, 1UL << _rng.Next(64), ulong.MaxValue));
                break;
            case 16:
                SetU64(88, "autoclear_features", Pick(1UL, 2UL, 1UL << _rng.Next(64), ulong.MaxValue));
                break;
            case 17:
                SetU32(96, "refcount_order", Pick(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 31u, 32u, 64u, uint.MaxValue));
                break;
            default:
                if (_rng.Next(3) == 0)
                {
                    SetU8(104, "compression_type", Pick<byte>(1, 2, 0xFF));
                }
                else
                {
                    var cs = (uint)ClusterSize;
                    SetU32(100, "header_length", Pick(0u, 72u, 100u, 103u, 104u, 105u, 108u, 112u, 113u, 120u, 128u, cs - 8, cs, cs + 8, uint.MaxValue));
                }

                break;
        }
    }

    private void ExtensionOrBackingName()
    {
        var pick = _rng.Next(6);
        if (pick <= 1 && _layout.ExtensionHeaders.Count > 0)
        {
            var at = _layout.ExtensionHeaders[_rng.Next(_layout.ExtensionHeaders.Count)];
            if (pick == 0)
            {
                var cs = (uint)ClusterSize;
                var length = BinaryPrimitives.ReadUInt32BigEndian(_bytes.AsSpan(at + 4));
                SetU32(at + 4, $"extension length @{at}", Pick(0u, 1u, 7u, 9u, length + 1, length + 8, cs, cs - (uint)at, cs - (uint)at - 8, 0x7FFFFFFFu, uint.MaxValue, (uint)_rng.Next()));
            }
            else
            {
                SetU32(at, $"extension type @{at}", Pick(0u, 0xE2792ACAu, 0x6803F857u, 0x23852875u, 0x0537BE77u, 0x44415441u, (uint)_rng.Next()));
            }

            return;
        }

        if (pick == 2)
        {
            // A forged extension right after the real ones, overwriting the end marker.
            var at = _layout.ExtensionsEnd - 8;
            var type = Pick(0xE2792ACAu, 0x44415441u, 0x23852875u, 0x0537BE77u, 0xDEADBEEFu);
            var length = Pick(0u, 5u, 8u, 64u, (uint)(ClusterSize - at - 8), (uint)(ClusterSize - at), uint.MaxValue);
            SetU32(at, $"forged extension type @{at}", type);
            SetU32(at + 4, $"forged extension length @{at + 4}", length);
            return;
        }

        if (pick == 3)
        {
            // 2^64 - k with a small size: offset + size wraps around in 64-bit arithmetic.
            var offset = Pick(ulong.MaxValue - 255, ulong.MaxValue - 511, ulong.MaxValue, 1UL << 63, (ulong)(uint)ClusterSize - 4, 1UL << 32);
            SetU64(8, "backing_file_offset", offset);
            SetU32(16, "backing_file_size", Pick(1u, 16u, 256u, 512u, 1023u));
            return;
        }

        // Replace (or add) the backing file name.
        var names = new[]
        {
            "", ".", "..", "/", "/dev/null", _targetName, "./" + _targetName, "base.qcow2", "top.qcow2", "missing.qcow2",
            "a\0b", "../../../../../../../../etc/passwd", new string('x', 1023), "\u00ff\u00fe",
            "sub/dir/deep.qcow2",
        };
        var name = names[_rng.Next(names.Length)];
        var bytes = name == "\u00ff\u00fe" ? new byte[] { 0xFF, 0xFE, 0xC0 } : Encoding.UTF8.GetBytes(name);
        var start = _layout.BackingNameOffset != 0 ? _layout.BackingNameOffset : _layout.ExtensionsEnd;
        if (start + bytes.Length > Math.Min(ClusterSize, _bytes.Length))
        {
            start = Math.Max(_layout.ExtensionsEnd, Math.Min(ClusterSize, _bytes.Length) - bytes.Length);
        }

        if (start + bytes.Length <= _bytes.Length)
        {
            bytes.CopyTo(_bytes, start);
        }

        SetU64(8, "backing_file_offset", (ulong)start);
        SetU32(16, "backing_file_size", (uint)bytes.Length);
        _log.Add($"backing name bytes @{start} = \"{Escape(bytes)}\"");
    }

    // ---- tables ---------------------------------------------------------------------------------

    private void L1Table()
    {
        var l1Bytes = _layout.L1Size * 8;
        if (l1Bytes == 0 || _rng.Next(3) == 0)
        {
            FlipBits(_layout.L1Offset, Math.Max(l1Bytes, 8), _rng.Next(1, 4), "L1 table");
            return;
        }

        var index = _rng.Next(_layout.L1Size);
        var position = _layout.L1Offset + (index * 8);
        var current = ReadU64(position);
        var l2 = _layout.L2Tables.Count > 0 ? (ulong)_layout.L2Tables[_rng.Next(_layout.L2Tables.Count)] : (ulong)(uint)ClusterSize;
        var value = Pick(
            0UL, current & ~Copied, current | (0x7FUL << 56), current | 0x1FEUL, l2 | Copied, Copied,
            (ulong)_layout.L1Offset | Copied, (ulong)_layout.RefcountTableOffset | Copied, Copied | (ulong)(uint)ClusterSize * 1000,
            (ulong)MetadataCluster() | Copied, (ulong)DataCluster() | Copied, AlignedPastEnd() | Copied, current + 512,
            0x00FF_FFFF_FFFF_0000UL | Copied, NextU64());
        SetU64(position, $"L1[{index}]", value);
    }

    private void L2Tables()
    {
        if (_layout.L2Tables.Count == 0)
        {
            L1Table();
            return;
        }

        if (_rng.Next(3) == 0)
        {
            var table = _layout.L2Tables[_rng.Next(_layout.L2Tables.Count)];
            FlipBits(table, ClusterSize, _rng.Next(1, 6), $"L2 table @{table}");
            return;
        }

        var position = _layout.L2EntryPositions.Count > 0 && _rng.Next(4) != 0
            ? _layout.L2EntryPositions[_rng.Next(_layout.L2EntryPositions.Count)]
            : _layout.L2Tables[0] + (_rng.Next(ClusterSize / 8) * 8);
        if (_layout.CompressedEntryPositions.Count > 0 && _rng.Next(4) == 0)
        {
            position = _layout.CompressedEntryPositions[_rng.Next(_layout.CompressedEntryPositions.Count)];
        }

        var current = ReadU64(position);
        var offsetBits = 62 - (_layout.ClusterBits - 8);
        var maxSectors = (1UL << (_layout.ClusterBits - 8)) - 1;
        var compressed = CompressedFlag | ((Pick(0UL, 1UL, maxSectors, (ulong)_rng.NextInt64((long)maxSectors + 1)) & maxSectors) << offsetBits)
            | (Pick(0UL, (ulong)DataCluster() + (ulong)_rng.Next(512), AlignedPastEnd(), (ulong)_layout.FileLength - 1, (1UL << offsetBits) - 1, (ulong)_rng.NextInt64(_layout.FileLength)) & ((1UL << offsetBits) - 1));
        var value = Pick(
            0UL, 1UL, current ^ 1UL, current & ~Copied, current | Copied, current | (0x3FUL << 56), current | 0x1FEUL,
            Copied, Copied | 1UL, Copied | (ulong)MetadataCluster(), Copied | (ulong)DataCluster(), Copied | AlignedPastEnd(),
            Copied | ((ulong)_layout.FileLength + ((ulong)(uint)ClusterSize * 1000)), Copied | (ulong)DataCluster() | 512UL,
            Copied | 0x00FF_FFFF_FFFF_0000UL, Copied | (ulong)DataCluster() | 1UL, compressed, compressed | Copied,
            current ^ (1UL << _rng.Next(64)), NextU64());
        SetU64(position, $"L2 entry @{position}", value);
    }

    private void Refcounts()
    {
        var pick = _rng.Next(5);
        if (pick == 0)
        {
            FlipBits(_layout.RefcountTableOffset, (long)_layout.RefcountTableClusters * ClusterSize, _rng.Next(1, 4), "refcount table");
            return;
        }

        if (pick == 1 && _layout.RefcountBlocks.Count > 0)
        {
            var flipped = _layout.RefcountBlocks[_rng.Next(_layout.RefcountBlocks.Count)];
            FlipBits(flipped, ClusterSize, _rng.Next(1, 6), $"refcount block @{flipped}");
            return;
        }

        if (pick == 2)
        {
            var index = _layout.RefcountBlocks.Count > 0 && _rng.Next(3) != 0 ? _rng.Next(_layout.RefcountBlocks.Count) : _rng.Next(ClusterSize / 8);
            var position = _layout.RefcountTableOffset + (index * 8L);
            var current = ReadU64(position);
            SetU64(position, $"refcount table[{index}]", Pick(
                0UL, current | 1UL, current + 512, current | (1UL << 63), current | (1UL << 62), 0x8000_0000_0000_0000UL,
                (ulong)_layout.RefcountTableOffset, (ulong)MetadataCluster(), (ulong)DataCluster(), 0UL + (ulong)_layout.L1Offset,
                AlignedPastEnd(), AlignedPastEnd() + ((ulong)(uint)ClusterSize * 4096), 0x00FF_FFFF_FFFF_0000UL, NextU64() & ~0x1FFUL, NextU64()));
            return;
        }

        // One refcount of a used (or unused) cluster: too low, too high, or at the width's maximum.
        if (_layout.RefcountBlocks.Count == 0)
        {
            return;
        }

        var blockOffset = _layout.RefcountBlocks[0];
        var order = _layout.RefcountOrder;
        var entries = (ClusterSize * 8) >> order;
        var cluster = _rng.Next(2) == 0 ? _rng.Next((int)Math.Min(entries, (_layout.FileLength / ClusterSize) + 1)) : _rng.Next(entries);
        var max = order == 6 ? ulong.MaxValue : (1UL << (1 << order)) - 1;
        var value = Pick(0UL, 1UL, 2UL, max, max - 1, (ulong)_rng.NextInt64() & max);
        var block = new Qcow2.Metadata.RefcountBlock(blockOffset, _bytes.AsSpan((int)blockOffset, ClusterSize).ToArray(), order);
        block.Set(cluster, value);
        block.Data.CopyTo(_bytes, blockOffset);
        _log.Add($"refcount of cluster {cluster} (block @{blockOffset}, order {order}) = {value}");
    }

    private void Snapshots()
    {
        if (_layout.SnapshotEntries.Count == 0 || _rng.Next(4) == 0)
        {
            // Forge a table: point nb_snapshots/snapshots_offset at some cluster, maybe writing a plausible entry there.
            var at = Pick(MetadataCluster(), DataCluster(), (long)AlignedPastEnd(), _layout.FileLength - (_layout.FileLength % ClusterSize));
            SetU32(60, "nb_snapshots", Pick(1u, 2u, 3u, 100u, 65536u));
            SetU64(64, "snapshots_offset", (ulong)at);
            if (at + 40 <= _bytes.Length && _rng.Next(2) == 0)
            {
                SnapshotEntry(at);
            }

            return;
        }

        var entry = _layout.SnapshotEntries[_rng.Next(_layout.SnapshotEntries.Count)];
        if (_rng.Next(3) == 0)
        {
            FlipBits(entry, Math.Min(64, _bytes.Length - entry), _rng.Next(1, 4), $"snapshot entry @{entry}");
            return;
        }

        SnapshotEntry(entry);
    }

    private void SnapshotEntry(long entry)
    {
        switch (_rng.Next(5))
        {
            case 0:
                SetU64(entry, $"snapshot l1_table_offset @{entry}", Pick(
                    0UL, 1UL << 63, (1UL << 63) | (ulong)(uint)ClusterSize, ulong.MaxValue - (ulong)(uint)ClusterSize + 1, 0x7FFF_FFFF_FFFF_0000UL,
                    (ulong)MetadataCluster(), AlignedPastEnd(), (ulong)(uint)ClusterSize + 512, NextU64() & ~0x1FFUL));
                break;
            case 1:
                SetU32(entry + 8, $"snapshot l1_size @{entry + 8}", Pick(0u, 1u, 4096u, 4194304u, 4194305u, uint.MaxValue, (uint)_rng.Next()));
                break;
            case 2:
                SetU16(entry + 12, $"snapshot id_str_size @{entry + 12}", Pick<ushort>(0, 1, 0xFFFF));
                break;
            case 3:
                SetU16(entry + 14, $"snapshot name_size @{entry + 14}", Pick<ushort>(0, 1, 0xFFFF));
                break;
            default:
                SetU32(entry + 36, $"snapshot extra_data_size @{entry + 36}", Pick(0u, 16u, 1024u, 1025u, uint.MaxValue));
                break;
        }
    }

    private void Structural()
    {
        var pick = _rng.Next(6);
        var target = MetadataCluster();
        switch (pick)
        {
            case 0:
                var source = _rng.Next(2) == 0 ? MetadataCluster() : DataCluster();
                CopyCluster(source, target);
                break;
            case 1:
                Fill(target, 0x00);
                break;
            case 2:
                Fill(target, 0xFF);
                break;
            case 3:
                if (target + ClusterSize <= _bytes.Length)
                {
                    _rng.NextBytes(_bytes.AsSpan((int)target, ClusterSize));
                    _log.Add($"random bytes over cluster @{target}");
                }

                break;
            case 4:
                // The L1 and refcount tables trade places.
                SetU64(40, "l1_table_offset", (ulong)_layout.RefcountTableOffset);
                SetU64(48, "refcount_table_offset", (ulong)_layout.L1Offset);
                break;
            default:
                // A table that points at itself.
                if (_rng.Next(2) == 0)
                {
                    SetU64(_layout.L1Offset, "L1[0]", Copied | (ulong)_layout.L1Offset);
                }
                else
                {
                    SetU64(_layout.RefcountTableOffset, "refcount table[0]", (ulong)_layout.RefcountTableOffset);
                }

                break;
        }
    }

    private void Truncation()
    {
        var length = _bytes.LongLength;
        var cs = ClusterSize;
        var pick = _rng.Next(12);
        long newLength = pick switch
        {
            0 => 0,
            1 => _rng.Next(1, 72),
            2 => _rng.Next(72, 112),
            3 => _rng.Next(112, Math.Max(113, (int)Math.Min(cs, length))),
            4 => _rng.NextInt64(cs, Math.Max(cs + 1, length)),
            5 => length - 1,
            6 => Math.Max(0, length - cs),
            7 => _layout.L1Offset + _rng.Next(0, Math.Max(1, _layout.L1Size * 8)),
            8 => _layout.RefcountTableOffset + _rng.Next(0, cs),
            9 => _layout.L2Tables.Count > 0 ? _layout.L2Tables[_rng.Next(_layout.L2Tables.Count)] + _rng.Next(0, cs) : cs,
            10 => length + _rng.Next(1, 3 * cs),
            _ => (_rng.NextInt64(1, Math.Max(2, length / cs)) * cs) + Pick(-1L, 0L, 1L),
        };

        newLength = Math.Max(0, newLength);
        var resized = new byte[newLength];
        Array.Copy(_bytes, resized, Math.Min(newLength, length));
        if (newLength > length && _rng.Next(2) == 0)
        {
            _rng.NextBytes(resized.AsSpan((int)length));
            _log.Add($"extend from {length} to {newLength} bytes with random bytes");
        }
        else
        {
            _log.Add(newLength > length ? $"extend from {length} to {newLength} bytes with zeros" : $"truncate from {length} to {newLength} bytes");
        }

        _bytes = resized;
    }

    // ---- values -------------------------------------------------------------------------------

    private ulong NastyOffset()
    {
        var cs = (ulong)(uint)ClusterSize;
        var length = (ulong)_layout.FileLength;
        return Pick(
            0UL, 1UL, 511UL, 512UL, cs - 1, cs, cs + 512, length, AlignedPastEnd(), AlignedPastEnd() + cs, AlignedPastEnd() + (64 * cs),
            1UL << 31, 1UL << 32, 1UL << 40, (1UL << 56) - cs, 1UL << 56, 1UL << 62, 1UL << 63, (1UL << 63) - cs, (1UL << 63) + cs,
            ulong.MaxValue - cs + 1, ulong.MaxValue, ulong.MaxValue - 255, (ulong)MetadataCluster(), (ulong)DataCluster(),
            NextU64(), (ulong)_rng.NextInt64(0, Math.Max(1, _layout.FileLength * 2)) & ~(cs - 1));
    }

    private ulong NastySize()
    {
        var size = (ulong)_layout.VirtualSize;
        var cs = (ulong)(uint)ClusterSize;
        return Pick(
            0UL, 1UL, 511UL, 512UL, 513UL, cs - 1, cs, size - 1, size + 1, size + 512, size * 2, size * 1024, 1UL << 40, 1UL << 50,
            1UL << 55, 1UL << 61, (1UL << 62) - 1, 1UL << 62, (1UL << 63) - 1, 1UL << 63, ulong.MaxValue, NextU64());
    }

    private uint NastyL1Size()
    {
        var l1 = (uint)_layout.L1Size;
        var fit = (uint)Math.Max(0, (_layout.FileLength - _layout.L1Offset) / 8);
        return Pick(0u, 1u, l1 - 1, l1 + 1, l1 * 2, fit, fit + 1, fit + ((uint)ClusterSize / 8), 4194304u, 4194305u, 0x7FFFFFFFu, 0x80000000u, uint.MaxValue);
    }

    private uint NastyU32() => Pick(0u, 1u, 2u, 7u, 8u, 0x3FFu, 0x400u, 0xFFFFu, 0x10000u, 0x7FFFFFFFu, 0x80000000u, uint.MaxValue, (uint)_rng.Next());

    private ulong AlignedPastEnd()
    {
        var cs = (ulong)(uint)ClusterSize;
        return ((ulong)_layout.FileLength + cs - 1) / cs * cs;
    }

    private long MetadataCluster()
    {
        var clusters = _layout.MetadataClusters.ToList();
        return clusters[_rng.Next(clusters.Count)];
    }

    private long DataCluster() =>
        _layout.DataClusters.Count > 0 ? _layout.DataClusters[_rng.Next(_layout.DataClusters.Count)] : MetadataCluster();

    private ulong NextU64() => (ulong)_rng.NextInt64() ^ ((ulong)_rng.Next(2) << 63);

    private T Pick<T>(params T[] values) => values[_rng.Next(values.Length)];

    // ---- primitive edits ----------------------------------------------------------------------

    private void FlipBits(long start, long length, int count, string region)
    {
        var end = Math.Min(start + length, _bytes.LongLength);
        if (start < 0 || start >= end)
        {
            return;
        }

        for (var i = 0; i < count; i++)
        {
            var position = _rng.NextInt64(start, end);
            var bit = _rng.Next(8);
            _bytes[position] ^= (byte)(1 << bit);
            _log.Add($"flip bit {bit} of byte {position} ({region})");
        }
    }

    private ulong ReadU64(long position) =>
        position >= 0 && position + 8 <= _bytes.Length ? BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan((int)position)) : 0;

    private void SetU64(long position, string field, ulong value)
    {
        if (position < 0 || position + 8 > _bytes.Length)
        {
            return;
        }

        BinaryPrimitives.WriteUInt64BigEndian(_bytes.AsSpan((int)position), value);
        _log.Add(string.Create(CultureInfo.InvariantCulture, $"set {field} (u64 @{position}) = 0x{value:x}"));
    }

    private void SetU32(long position, string field, uint value)
    {
        if (position < 0 || position + 4 > _bytes.Length)
        {
            return;
        }

        BinaryPrimitives.WriteUInt32BigEndian(_bytes.AsSpan((int)position), value);
        _log.Add(string.Create(CultureInfo.InvariantCulture, $"set {field} (u32 @{position}) = 0x{value:x}"));
    }

    private void SetU16(long position, string field, ushort value)
    {
        if (position < 0 || position + 2 > _bytes.Length)
        {
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_bytes.AsSpan((int)position), value);
        _log.Add(string.Create(CultureInfo.InvariantCulture, $"set {field} (u16 @{position}) = 0x{value:x}"));
    }

    private void SetU8(long position, string field, byte value)
    {
        if (position < 0 || position >= _bytes.Length)
        {
            return;
        }

        _bytes[position] = value;
        _log.Add(string.Create(CultureInfo.InvariantCulture, $"set {field} (u8 @{position}) = 0x{value:x}"));
    }

    private void CopyCluster(long source, long target)
    {
        if (source == target || source + ClusterSize > _bytes.Length || target + ClusterSize > _bytes.Length)
        {
            return;
        }

        Array.Copy(_bytes, source, _bytes, target, ClusterSize);
        _log.Add($"copy cluster @{source} over cluster @{target}");
    }

    private void Fill(long target, byte value)
    {
        if (target + ClusterSize > _bytes.Length)
        {
            return;
        }

        _bytes.AsSpan((int)target, ClusterSize).Fill(value);
        _log.Add($"fill cluster @{target} with 0x{value:x2}");
    }

    private static string Escape(byte[] bytes) =>
        string.Concat(bytes.Select(b => b is >= 0x20 and < 0x7F and not (byte)'"' ? ((char)b).ToString() : $"\\x{b:x2}"));
}
