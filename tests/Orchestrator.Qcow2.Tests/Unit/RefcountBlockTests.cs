using Orchestrator.Qcow2.Metadata;

namespace Orchestrator.Qcow2.Tests.Unit;

public sealed class RefcountBlockTests
{
    private const int ClusterSize = 512;

    public static TheoryData<int> Orders => [0, 1, 2, 3, 4, 5, 6];

    [Theory]
    [MemberData(nameof(Orders))]
    public void EverySlotKeepsItsOwnValue(int order)
    {
        var block = new RefcountBlock(0, new byte[ClusterSize], order);
        var entries = ClusterSize * 8 >> order;
        var max = MaxRefcount(order);
        for (var i = 0; i < entries; i++)
        {
            block.Set(i, ValueFor(i, max));
        }

        for (var i = 0; i < entries; i++)
        {
            Assert.Equal(ValueFor(i, max), block.Get(i));
        }

        Assert.True(block.Dirty);
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void SettingOneSlotLeavesItsNeighboursAlone(int order)
    {
        var block = new RefcountBlock(0, new byte[ClusterSize], order);
        var entries = ClusterSize * 8 >> order;
        var max = MaxRefcount(order);
        for (var i = 0; i < entries; i++)
        {
            block.Set(i, max);
        }

        block.Set(5, 0);

        Assert.Equal(0UL, block.Get(5));
        Assert.Equal(max, block.Get(4));
        Assert.Equal(max, block.Get(6));
    }

    [Theory]
    [InlineData(0, 9, new byte[] { 0x00, 0x02 })]
    [InlineData(1, 5, new byte[] { 0x00, 0x04 })]
    [InlineData(2, 1, new byte[] { 0x10, 0x00 })]
    [InlineData(3, 1, new byte[] { 0x00, 0x01 })]
    public void SubWordRefcountsUseQemusBitOrder(int order, int index, byte[] expectedFirstBytes)
    {
        // QEMU's get_refcount_ro0..ro2 read from the least significant bits: entry i of width w sits at bit (i*w)%8.
        var block = new RefcountBlock(0, new byte[ClusterSize], order);
        block.Set(index, 1);
        Assert.Equal(expectedFirstBytes, block.Data[..2]);
    }

    [Theory]
    [InlineData(4, new byte[] { 0x00, 0x00, 0x01, 0x02 })]
    [InlineData(5, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02 })]
    public void WideRefcountsAreBigEndian(int order, byte[] expectedFirstBytes)
    {
        var block = new RefcountBlock(0, new byte[ClusterSize], order);
        block.Set(1, 0x0102);
        Assert.Equal(expectedFirstBytes, block.Data[..expectedFirstBytes.Length]);
    }

    [Fact]
    public void SixtyFourBitRefcountsHoldTheFullRange()
    {
        var data = new byte[ClusterSize];
        data[8] = 0xFF;
        data[15] = 0x01;
        var block = new RefcountBlock(0, data, 6);

        Assert.Equal(0xFF00_0000_0000_0001UL, block.Get(1));
        block.Set(2, ulong.MaxValue);
        Assert.Equal(ulong.MaxValue, block.Get(2));
        Assert.Equal(0xFF00_0000_0000_0001UL, block.Get(1));
    }

    private static ulong MaxRefcount(int order) => order == 6 ? ulong.MaxValue : (1UL << (1 << order)) - 1;

    private static ulong ValueFor(int index, ulong max) => max == ulong.MaxValue
        ? (ulong)index * 0x0101_0101_0101_0101UL
        : (ulong)index * 7919 % (max + 1);
}
