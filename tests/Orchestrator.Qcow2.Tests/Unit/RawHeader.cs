using System.Buffers.Binary;
using System.Text;

namespace Orchestrator.Qcow2.Tests.Unit;

/// <summary>
/// Builds header cluster bytes field by field, independently of the library's serializer,
/// so parser tests do not trust the code under test to produce their input.
/// </summary>
internal sealed record RawHeader
{
    public uint Magic { get; init; } = 0x514649FB;
    public uint Version { get; init; } = 3;
    public uint ClusterBits { get; init; } = 16;
    public ulong Size { get; init; } = 1UL << 30;
    public uint CryptMethod { get; init; }
    public uint L1Size { get; init; } = 2;
    public ulong L1TableOffset { get; init; } = 3 * 65536;
    public ulong RefcountTableOffset { get; init; } = 65536;
    public uint RefcountTableClusters { get; init; } = 1;
    public uint SnapshotCount { get; init; }
    public ulong SnapshotsOffset { get; init; }
    public ulong Incompatible { get; init; }
    public ulong Compatible { get; init; }
    public ulong Autoclear { get; init; }
    public uint RefcountOrder { get; init; } = 4;
    public uint HeaderLength { get; init; } = 112;
    public byte CompressionType { get; init; }

    /// <summary>Extensions written in order after the header, each padded to 8 bytes; the end marker is added.</summary>
    public IReadOnlyList<(uint Type, byte[] Data)> Extensions { get; init; } = [];

    public string? BackingName { get; init; }

    /// <summary>Where the backing name goes; null places it right after the end-of-extensions marker.</summary>
    public ulong? BackingOffsetOverride { get; init; }

    public uint? BackingSizeOverride { get; init; }

    public int ClusterSize => 1 << (int)ClusterBits;

    public static RawHeader V2 => new() { Version = 2, HeaderLength = 72 };

    public byte[] ToBytes(int? bufferLength = null)
    {
        var buffer = new byte[bufferLength ?? Math.Max(ClusterSize, 4096)];
        var b = buffer.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(b, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(b[24..], Size);
        BinaryPrimitives.WriteUInt32BigEndian(b[32..], CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(b[36..], L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(b[40..], L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(b[48..], RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[56..], RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(b[60..], SnapshotCount);
        BinaryPrimitives.WriteUInt64BigEndian(b[64..], SnapshotsOffset);
        var offset = 72;
        if (Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b[72..], Incompatible);
            BinaryPrimitives.WriteUInt64BigEndian(b[80..], Compatible);
            BinaryPrimitives.WriteUInt64BigEndian(b[88..], Autoclear);
            BinaryPrimitives.WriteUInt32BigEndian(b[96..], RefcountOrder);
            BinaryPrimitives.WriteUInt32BigEndian(b[100..], HeaderLength);
            if (HeaderLength > 104)
            {
                b[104] = CompressionType;
            }

            offset = (int)Math.Max(HeaderLength, 104);
        }

        foreach (var (type, data) in Extensions)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b[offset..], type);
            BinaryPrimitives.WriteUInt32BigEndian(b[(offset + 4)..], (uint)data.Length);
            data.CopyTo(b[(offset + 8)..]);
            offset += 8 + ((data.Length + 7) & ~7);
        }

        // End of extensions: type 0, length 0.
        offset += 8;
        if (BackingName is not null)
        {
            var name = Encoding.UTF8.GetBytes(BackingName);
            var at = BackingOffsetOverride ?? (ulong)offset;
            if (at + (ulong)name.Length <= (ulong)buffer.Length)
            {
                name.CopyTo(b[(int)at..]);
            }

            BinaryPrimitives.WriteUInt64BigEndian(b[8..], at);
            BinaryPrimitives.WriteUInt32BigEndian(b[16..], BackingSizeOverride ?? (uint)name.Length);
        }

        return buffer;
    }
}
