using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Metadata;

/// <summary>One L2 table in memory, decoded to native-endian entries for fast lookups.</summary>
internal sealed class L2Table(long hostOffset, ulong[] entries)
{
    public long HostOffset { get; } = hostOffset;
    public ulong[] Entries { get; } = entries;
    public bool Dirty { get; set; }

    public L2Entry this[int index]
    {
        get => new(Entries[index]);
        set
        {
            Entries[index] = value.Raw;
            Dirty = true;
        }
    }

    public static L2Table Decode(long hostOffset, ReadOnlySpan<byte> raw)
    {
        var entries = new ulong[raw.Length / 8];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = BinaryPrimitives.ReadUInt64BigEndian(raw[(i * 8)..]);
        }

        return new L2Table(hostOffset, entries);
    }

    public void Encode(Span<byte> raw)
    {
        for (var i = 0; i < Entries.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw[(i * 8)..], Entries[i]);
        }
    }
}
