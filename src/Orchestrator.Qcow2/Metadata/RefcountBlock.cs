using System.Buffers.Binary;

namespace Orchestrator.Qcow2.Metadata;

/// <summary>One refcount block held in memory in its on-disk (big-endian, packed) form.</summary>
internal sealed class RefcountBlock(long hostOffset, byte[] data, int refcountOrder)
{
    public long HostOffset { get; } = hostOffset;
    public byte[] Data { get; } = data;
    public bool Dirty { get; set; }

    public ulong Get(int index) => refcountOrder switch
    {
        // Sub-byte widths pack from the least significant bit, as QEMU's get_refcount_ro0..ro2 read them.
        < 3 => (ulong)((Data[index >> (3 - refcountOrder)] >> ((index & ((8 >> refcountOrder) - 1)) << refcountOrder)) & ((1 << (1 << refcountOrder)) - 1)),
        3 => Data[index],
        4 => BinaryPrimitives.ReadUInt16BigEndian(Data.AsSpan(index * 2)),
        5 => BinaryPrimitives.ReadUInt32BigEndian(Data.AsSpan(index * 4)),
        _ => BinaryPrimitives.ReadUInt64BigEndian(Data.AsSpan(index * 8)),
    };

    public void Set(int index, ulong value)
    {
        switch (refcountOrder)
        {
            case < 3:
                var bits = 1 << refcountOrder;
                var shift = (index & ((8 >> refcountOrder) - 1)) << refcountOrder;
                var mask = ((1 << bits) - 1) << shift;
                ref var b = ref Data[index >> (3 - refcountOrder)];
                b = (byte)((b & ~mask) | (((int)value << shift) & mask));
                break;
            case 3:
                Data[index] = (byte)value;
                break;
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(Data.AsSpan(index * 2), (ushort)value);
                break;
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(Data.AsSpan(index * 4), (uint)value);
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(Data.AsSpan(index * 8), value);
                break;
        }

        Dirty = true;
    }
}
