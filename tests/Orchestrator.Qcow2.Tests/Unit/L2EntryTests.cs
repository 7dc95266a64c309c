using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Tests.Unit;

public sealed class L2EntryTests
{
    private const ulong Copied = 1UL << 63;
    private const ulong Compressed = 1UL << 62;

    [Fact]
    public void StandardEntryIsDataAtItsOffset()
    {
        var entry = new L2Entry(Copied | 0x0000_1234_5678_0000UL);

        Assert.Equal(ClusterKind.Data, entry.Kind(3));
        Assert.Equal(ClusterKind.Data, entry.Kind(2));
        Assert.Equal(0x1234_5678_0000L, entry.HostOffset);
        Assert.True(entry.IsCopied);
        Assert.False(entry.IsCompressed);
        Assert.False(entry.HasZeroFlag);
    }

    [Fact]
    public void OffsetIgnoresBitsOutside9To55()
    {
        // Bit 56 and bits 1-8 are reserved; they must not leak into the host offset.
        var entry = new L2Entry((1UL << 56) | 0x1FEUL | 0x10000UL);
        Assert.Equal(0x10000L, entry.HostOffset);
    }

    [Fact]
    public void ZeroFlagWithoutOffsetIsZeroPlainInV3AndUnallocatedInV2()
    {
        var entry = new L2Entry(1);

        Assert.Equal(ClusterKind.Zero, entry.Kind(3));
        Assert.Equal(ClusterKind.Unallocated, entry.Kind(2));
        Assert.Equal(0L, entry.HostOffset);
        Assert.Equal(L2Entry.ZeroPlain, entry);
    }

    [Fact]
    public void ZeroFlagWithOffsetIsZeroAllocatedInV3AndDataInV2()
    {
        var entry = new L2Entry(Copied | 0x50000UL | 1);

        Assert.Equal(ClusterKind.ZeroAllocated, entry.Kind(3));
        Assert.Equal(ClusterKind.Data, entry.Kind(2));
        Assert.Equal(0x50000L, entry.HostOffset);
        Assert.Equal(L2Entry.ZeroAt(0x50000), entry);
    }

    [Fact]
    public void AllZeroEntryIsUnallocated()
    {
        Assert.Equal(ClusterKind.Unallocated, L2Entry.Unallocated.Kind(3));
        Assert.Equal(ClusterKind.Unallocated, new L2Entry(Copied).Kind(3));
    }

    [Fact]
    public void DataAtSetsTheCopiedFlag()
    {
        var entry = L2Entry.DataAt(0x30000);
        Assert.Equal(Copied | 0x30000UL, entry.Raw);
        Assert.Equal(ClusterKind.Data, entry.Kind(3));
    }

    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(21)]
    public void CompressedEntryDecodesOffsetAndSize(int clusterBits)
    {
        var offsetBits = 62 - (clusterBits - 8);
        var maxSectors = (1UL << (clusterBits - 8)) - 1;

        // An odd host byte offset (compressed data is byte aligned) and a mid-range sector count.
        const long hostOffset = 0x12_3456_789BL;
        var additional = maxSectors / 2;
        var entry = new L2Entry(Compressed | (additional << offsetBits) | (ulong)hostOffset);

        Assert.Equal(ClusterKind.Compressed, entry.Kind(3));
        Assert.Equal(ClusterKind.Compressed, entry.Kind(2));
        Assert.True(entry.IsCompressed);
        Assert.False(entry.HasZeroFlag);
        var (offset, length, alignedStart, sectorBytes) = entry.CompressedLocation(clusterBits);
        Assert.Equal(hostOffset, offset);
        Assert.Equal((int)(additional + 1) * 512, sectorBytes);
        Assert.Equal(sectorBytes - (int)(hostOffset & 511), length);
        Assert.Equal(hostOffset & ~511L, alignedStart);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(21)]
    public void CompressedEntryFieldsUseTheirFullWidth(int clusterBits)
    {
        var offsetBits = 62 - (clusterBits - 8);
        var maxOffset = (1UL << offsetBits) - 1;
        var maxSectors = (1UL << (clusterBits - 8)) - 1;
        var entry = new L2Entry(Copied | Compressed | (maxSectors << offsetBits) | maxOffset);

        var (offset, _, _, sectorBytes) = entry.CompressedLocation(clusterBits);

        // The sector count and the offset must not bleed into each other or into flag bits.
        Assert.Equal((long)maxOffset, offset);
        Assert.Equal((int)(maxSectors + 1) * 512, sectorBytes);
        Assert.Equal(2 << clusterBits, sectorBytes);
    }

    [Fact]
    public void CompressedEntryWithOnlyTheOffsetHasOneSector()
    {
        var entry = new L2Entry(Compressed | 0x20000UL);
        var (offset, length, alignedStart, sectorBytes) = entry.CompressedLocation(16);

        Assert.Equal(0x20000L, offset);
        Assert.Equal(512, length);
        Assert.Equal(0x20000L, alignedStart);
        Assert.Equal(512, sectorBytes);
    }
}
