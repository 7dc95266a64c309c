using System.Buffers.Binary;
using System.Text;
using static Orchestrator.Qcow2.Format.Qcow2Constants;

namespace Orchestrator.Qcow2.Format;

/// <summary>The qcow2 header (cluster 0): fields, header extensions and the backing file name.</summary>
public sealed record Qcow2Header
{
    public required uint Version { get; init; }
    public required int ClusterBits { get; init; }
    public required long Size { get; init; }
    public uint CryptMethod { get; init; }
    public required uint L1Size { get; init; }
    public required long L1TableOffset { get; init; }
    public required long RefcountTableOffset { get; init; }
    public required uint RefcountTableClusters { get; init; }
    public uint SnapshotCount { get; init; }
    public long SnapshotsOffset { get; init; }
    public ulong IncompatibleFeatures { get; init; }
    public ulong CompatibleFeatures { get; init; }
    public ulong AutoclearFeatures { get; init; }
    public int RefcountOrder { get; init; } = 4;
    public uint HeaderLength { get; init; }
    public byte CompressionType { get; init; }
    public string? BackingFileName { get; init; }
    public string? BackingFormat { get; init; }

    /// <summary>Extensions other than the backing format, in file order (feature names, bitmaps, unknown ones).</summary>
    public IReadOnlyList<HeaderExtension> OtherExtensions { get; init; } = [];

    public int ClusterSize => 1 << ClusterBits;
    public int RefcountBits => 1 << RefcountOrder;
    public bool IsDirty => (IncompatibleFeatures & IncompatDirty) != 0;
    public bool IsCorrupt => (IncompatibleFeatures & IncompatCorrupt) != 0;
    public bool HasLazyRefcounts => (CompatibleFeatures & CompatLazyRefcounts) != 0;
    public bool HasBitmaps => OtherExtensions.Any(e => e.Type == ExtBitmaps);

    /// <summary>Parses cluster 0 and validates every field that later code trusts.</summary>
    public static Qcow2Header Parse(ReadOnlySpan<byte> cluster0, long fileLength, string path)
    {
        var v = new HeaderValidator(path);
        v.Require(cluster0.Length >= V2HeaderLength, Qcow2ErrorKind.InvalidFormat, "file is too small to be a qcow2 image");
        v.Require(BinaryPrimitives.ReadUInt32BigEndian(cluster0) == Magic, Qcow2ErrorKind.InvalidFormat, "not a qcow2 image (bad magic)");

        var version = BinaryPrimitives.ReadUInt32BigEndian(cluster0[4..]);
        v.Require(version is 2 or 3, Qcow2ErrorKind.UnsupportedFeature, $"qcow2 version {version} is not supported (only 2 and 3)");

        var clusterBits = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cluster0[20..]), 64);
        v.Require(clusterBits is >= MinClusterBits and <= MaxClusterBits, Qcow2ErrorKind.InvalidFormat,
            $"cluster_bits {clusterBits} is outside 9..21 (512 B to 2 MiB)");
        var clusterSize = 1 << clusterBits;

        var header = ReadFixedFields(cluster0, version, clusterBits, v);
        ValidateFixedFields(header, clusterSize, fileLength, v);

        var extensionsEnd = header.BackingFileOffset != 0 ? (int)Math.Min(header.BackingFileOffset, (ulong)clusterSize) : clusterSize;
        var available = Math.Min(cluster0.Length, extensionsEnd);
        var (backingFormat, others) = ReadExtensions(cluster0[..available], (int)header.Header.HeaderLength, v);
        var backingName = ReadBackingName(cluster0, header.BackingFileOffset, header.BackingFileSize, clusterSize, v);

        var result = header.Header with { BackingFileName = backingName, BackingFormat = backingFormat, OtherExtensions = others };
        v.Require(!result.OtherExtensions.Any(e => e.Type == ExtExternalDataFile), Qcow2ErrorKind.UnsupportedFeature,
            "external data files are not supported");
        return result;
    }

    private readonly record struct FixedFields(Qcow2Header Header, ulong BackingFileOffset, uint BackingFileSize);

    private static FixedFields ReadFixedFields(ReadOnlySpan<byte> b, uint version, int clusterBits, HeaderValidator v)
    {

        v.Require(version == 2 || b.Length >= V3MinHeaderLength, Qcow2ErrorKind.InvalidFormat,
            $"qcow2 v3 header is truncated ({b.Length} bytes, at least 104 required)");
        var headerLength = version == 2 ? (uint)V2HeaderLength : BinaryPrimitives.ReadUInt32BigEndian(b[100..]);
        if (version == 3)
        {
            v.Require(b.Length >= V3MinHeaderLength && headerLength >= V3MinHeaderLength, Qcow2ErrorKind.InvalidFormat,
                $"qcow2 v3 header is too short ({headerLength} bytes, at least 104 required)");
            v.Require(headerLength <= (uint)Math.Min(b.Length, 1 << clusterBits), Qcow2ErrorKind.InvalidFormat,
                $"qcow2 header length {headerLength} is larger than the header cluster");
            v.Require(headerLength % 8 == 0, Qcow2ErrorKind.InvalidFormat, $"qcow2 header length {headerLength} is not a multiple of 8");
        }

        var size = BinaryPrimitives.ReadUInt64BigEndian(b[24..]);
        v.Require(size <= long.MaxValue / 2, Qcow2ErrorKind.InvalidFormat, $"virtual size {size} is too large");
        var header = new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            Size = (long)size,
            CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            L1Size = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
            L1TableOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(b[40..]), long.MaxValue),
            RefcountTableOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(b[48..]), long.MaxValue),
            RefcountTableClusters = BinaryPrimitives.ReadUInt32BigEndian(b[56..]),
            SnapshotCount = BinaryPrimitives.ReadUInt32BigEndian(b[60..]),
            SnapshotsOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(b[64..]), long.MaxValue),
            IncompatibleFeatures = version == 3 ? BinaryPrimitives.ReadUInt64BigEndian(b[72..]) : 0,
            CompatibleFeatures = version == 3 ? BinaryPrimitives.ReadUInt64BigEndian(b[80..]) : 0,
            AutoclearFeatures = version == 3 ? BinaryPrimitives.ReadUInt64BigEndian(b[88..]) : 0,
            RefcountOrder = version == 3 ? (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[96..]), 64) : 4,
            HeaderLength = headerLength,
            CompressionType = version == 3 && headerLength > 104 ? b[104] : (byte)0,
        };
        return new FixedFields(header, BinaryPrimitives.ReadUInt64BigEndian(b[8..]), BinaryPrimitives.ReadUInt32BigEndian(b[16..]));
    }

    private static void ValidateFixedFields(FixedFields f, int clusterSize, long fileLength, HeaderValidator v)
    {
        var h = f.Header;
        v.Require(h.CryptMethod == 0, Qcow2ErrorKind.UnsupportedFeature,
            $"encrypted images are not supported (crypt_method {h.CryptMethod}: {(h.CryptMethod == 1 ? "AES" : h.CryptMethod == 2 ? "LUKS" : "unknown")})");
        v.Require(h.RefcountOrder <= 6, Qcow2ErrorKind.InvalidFormat, $"refcount_order {h.RefcountOrder} is larger than 6 (64-bit refcounts)");

        var incompat = h.IncompatibleFeatures;
        v.Require((incompat & IncompatExternalDataFile) == 0, Qcow2ErrorKind.UnsupportedFeature, "external data files are not supported");
        v.Require((incompat & IncompatExtendedL2) == 0, Qcow2ErrorKind.UnsupportedFeature, "extended L2 entries (subclusters) are not supported");
        if ((incompat & IncompatCompressionType) != 0 || h.CompressionType != 0)
        {
            v.Require(h.CompressionType != 1, Qcow2ErrorKind.UnsupportedFeature, "zstd compression is not supported (only zlib)");
            v.Require(h.CompressionType != 0, Qcow2ErrorKind.InvalidFormat,
                "the compression type incompatible feature bit must not be set when the compression type is zlib");
            v.Require(false, Qcow2ErrorKind.InvalidFormat, $"unknown compression type {h.CompressionType}");
        }

        var unknown = incompat & ~IncompatKnownMask;
        v.Require(unknown == 0, Qcow2ErrorKind.UnsupportedFeature, $"unknown incompatible feature bits 0x{unknown:x} are set");

        v.Require(h.L1TableOffset % clusterSize == 0, Qcow2ErrorKind.InvalidFormat, $"L1 table offset {h.L1TableOffset} is not cluster aligned");
        v.Require((long)h.L1Size * 8 <= MaxL1TableBytes, Qcow2ErrorKind.InvalidFormat, $"L1 table with {h.L1Size} entries is too large");
        var l2Entries = clusterSize / 8;
        var neededL1 = (h.Size + ((long)clusterSize * l2Entries) - 1) / ((long)clusterSize * l2Entries);
        v.Require(h.L1Size >= neededL1, Qcow2ErrorKind.InvalidFormat,
            $"L1 table has {h.L1Size} entries but the virtual size {h.Size} needs {neededL1}");
        v.Require(h.L1Size == 0 || h.L1TableOffset > 0, Qcow2ErrorKind.InvalidFormat, "L1 table offset is 0");

        v.Require(h.RefcountTableOffset % clusterSize == 0 && h.RefcountTableOffset > 0, Qcow2ErrorKind.InvalidFormat,
            $"refcount table offset {h.RefcountTableOffset} is not a valid cluster offset");
        v.Require(h.RefcountTableClusters > 0 && (long)h.RefcountTableClusters * clusterSize <= MaxRefcountTableBytes,
            Qcow2ErrorKind.InvalidFormat, $"refcount table size of {h.RefcountTableClusters} clusters is invalid");
        // Unsigned sums: offsets are at most long.MaxValue and sizes at most 32 MiB, so these cannot wrap.
        v.Require((ulong)h.RefcountTableOffset + ((ulong)h.RefcountTableClusters * (ulong)clusterSize) <= (ulong)(fileLength + clusterSize),
            Qcow2ErrorKind.Corrupt, $"refcount table at {h.RefcountTableOffset} lies beyond the end of the file");
        v.Require((ulong)h.L1TableOffset + ((ulong)h.L1Size * 8) <= (ulong)(fileLength + clusterSize), Qcow2ErrorKind.Corrupt,
            $"L1 table at {h.L1TableOffset} lies beyond the end of the file");

        v.Require(h.SnapshotCount <= MaxSnapshots, Qcow2ErrorKind.InvalidFormat, $"{h.SnapshotCount} internal snapshots is too many");
        v.Require(h.SnapshotCount == 0 || h.SnapshotsOffset % clusterSize == 0, Qcow2ErrorKind.InvalidFormat,
            $"snapshot table offset {h.SnapshotsOffset} is not cluster aligned");

        v.Require(f.BackingFileSize <= MaxBackingFileNameLength, Qcow2ErrorKind.InvalidFormat,
            $"backing file name length {f.BackingFileSize} is longer than 1023 bytes");
        v.Require(f.BackingFileOffset == 0 || (f.BackingFileOffset <= (ulong)clusterSize && f.BackingFileSize <= (ulong)clusterSize - f.BackingFileOffset),
            Qcow2ErrorKind.InvalidFormat, "backing file name does not fit in the header cluster");
    }

    private static (string? BackingFormat, List<HeaderExtension> Others) ReadExtensions(ReadOnlySpan<byte> area, int start, HeaderValidator v)
    {
        string? backingFormat = null;
        var others = new List<HeaderExtension>();
        var offset = start;
        while (offset + 8 <= area.Length)
        {
            var type = BinaryPrimitives.ReadUInt32BigEndian(area[offset..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(area[(offset + 4)..]);
            offset += 8;
            if (type == ExtEnd)
            {
                return (backingFormat, others);
            }

            v.Require(length <= (uint)(area.Length - offset), Qcow2ErrorKind.InvalidFormat,
                $"header extension 0x{type:x8} of {length} bytes runs past the header area");
            var data = area.Slice(offset, (int)length);
            if (type == ExtBackingFormat)
            {
                backingFormat = Encoding.UTF8.GetString(data.TrimEnd((byte)0));
            }
            else
            {
                others.Add(new HeaderExtension(type, data.ToArray()));
            }

            offset += (int)((length + 7) & ~7u);
        }

        // QEMU tolerates a header area that ends without an end-of-extensions marker.
        return (backingFormat, others);
    }

    private static string? ReadBackingName(ReadOnlySpan<byte> cluster0, ulong offset, uint size, int clusterSize, HeaderValidator v)
    {
        if (offset == 0 || size == 0)
        {
            return null;
        }

        v.Require(offset + size <= (ulong)cluster0.Length && offset + size <= (ulong)clusterSize, Qcow2ErrorKind.InvalidFormat,
            "backing file name lies outside the header cluster");
        var name = Encoding.UTF8.GetString(cluster0.Slice((int)offset, (int)size));
        v.Require(!name.Contains('\0'), Qcow2ErrorKind.InvalidFormat, "backing file name contains a NUL byte");
        return name;
    }

    /// <summary>
    /// Serializes the whole header cluster: fixed fields, the backing format extension, kept extensions,
    /// the end marker, then the backing file name. QEMU writes the header the same way (one buffer, one write).
    /// </summary>
    public byte[] Serialize()
    {
        var buffer = new byte[ClusterSize];
        var b = buffer.AsSpan();
        var headerLength = Version == 2 ? V2HeaderLength : (int)Math.Max(HeaderLength, V3WrittenHeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(b, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], (uint)ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(b[24..], (ulong)Size);
        BinaryPrimitives.WriteUInt32BigEndian(b[32..], CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(b[36..], L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(b[40..], (ulong)L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(b[48..], (ulong)RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[56..], RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(b[60..], SnapshotCount);
        BinaryPrimitives.WriteUInt64BigEndian(b[64..], (ulong)SnapshotsOffset);
        if (Version == 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b[72..], IncompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(b[80..], CompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(b[88..], AutoclearFeatures);
            BinaryPrimitives.WriteUInt32BigEndian(b[96..], (uint)RefcountOrder);
            BinaryPrimitives.WriteUInt32BigEndian(b[100..], (uint)headerLength);
            b[104] = CompressionType;
        }

        var offset = headerLength;
        if (BackingFormat is not null)
        {
            offset = WriteExtension(b, offset, ExtBackingFormat, Encoding.UTF8.GetBytes(BackingFormat));
        }

        foreach (var extension in OtherExtensions)
        {
            offset = WriteExtension(b, offset, extension.Type, extension.Data);
        }

        offset = WriteExtension(b, offset, ExtEnd, []);
        if (BackingFileName is not null)
        {
            var name = Encoding.UTF8.GetBytes(BackingFileName);
            if (name.Length > MaxBackingFileNameLength || offset + name.Length > ClusterSize)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument,
                    $"backing file name '{BackingFileName}' does not fit in the header cluster");
            }

            name.CopyTo(b[offset..]);
            BinaryPrimitives.WriteUInt64BigEndian(b[8..], (ulong)offset);
            BinaryPrimitives.WriteUInt32BigEndian(b[16..], (uint)name.Length);
        }

        return buffer;
    }

    private int WriteExtension(Span<byte> b, int offset, uint type, byte[] data)
    {
        var padded = (data.Length + 7) & ~7;
        if (offset + 8 + padded > ClusterSize)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, "header extensions do not fit in the header cluster");
        }

        BinaryPrimitives.WriteUInt32BigEndian(b[offset..], type);
        BinaryPrimitives.WriteUInt32BigEndian(b[(offset + 4)..], (uint)data.Length);
        data.CopyTo(b[(offset + 8)..]);
        return offset + 8 + padded;
    }
}
