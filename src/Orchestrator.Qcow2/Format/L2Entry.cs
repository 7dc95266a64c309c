using static Orchestrator.Qcow2.Format.Qcow2Constants;

namespace Orchestrator.Qcow2.Format;

/// <summary>An L2 table entry with bit accessors (see "Standard Cluster Descriptor" and "Compressed Clusters Descriptor").</summary>
internal readonly record struct L2Entry(ulong Raw)
{
    public bool IsCompressed => (Raw & CompressedFlag) != 0;
    public bool IsCopied => (Raw & CopiedFlag) != 0;
    public long HostOffset => (long)(Raw & OffsetMask);
    public bool HasZeroFlag => !IsCompressed && (Raw & ZeroFlag) != 0;

    public ClusterKind Kind(uint version)
    {
        if (IsCompressed)
        {
            return ClusterKind.Compressed;
        }

        // The zero flag only exists in version 3; in version 2 bit 0 is reserved and ignored.
        if (version >= 3 && HasZeroFlag)
        {
            return HostOffset == 0 ? ClusterKind.Zero : ClusterKind.ZeroAllocated;
        }

        return HostOffset == 0 ? ClusterKind.Unallocated : ClusterKind.Data;
    }

    /// <summary>For compressed entries: the host byte offset and the byte length of the compressed stream.</summary>
    public (long Offset, int Length, long SectorAlignedStart, int SectorBytes) CompressedLocation(int clusterBits)
    {
        var offsetBits = 62 - (clusterBits - 8);
        var offset = (long)(Raw & ((1UL << offsetBits) - 1));
        var additionalSectors = (int)((Raw >> offsetBits) & ((1UL << (clusterBits - 8)) - 1));
        var sectorBytes = (additionalSectors + 1) * 512;
        return (offset, sectorBytes - (int)(offset & 511), offset & ~511L, sectorBytes);
    }

    public static L2Entry DataAt(long hostOffset) => new((ulong)hostOffset | CopiedFlag);
    public static L2Entry ZeroAt(long hostOffset) => new((ulong)hostOffset | CopiedFlag | ZeroFlag);
    public static readonly L2Entry ZeroPlain = new(ZeroFlag);
    public static readonly L2Entry Unallocated = new(0);
}
