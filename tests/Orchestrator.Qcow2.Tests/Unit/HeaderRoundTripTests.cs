using System.Buffers.Binary;
using System.Text;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Tests.Unit;

public sealed class HeaderRoundTripTests
{
    private const string Path = "unit.qcow2";
    private const long FileLength = 1L << 24;
    private const uint UnknownExtensionType = 0x12345678;

    [Fact]
    public void V3WithBackingNameFormatUnknownExtensionAndAutoclearRoundTrips()
    {
        // 5 bytes: not a multiple of 8, so padding must not leak into the kept data.
        var unknown = new byte[] { 1, 2, 3, 4, 5 };
        var raw = new RawHeader
        {
            Autoclear = 0x3,
            Compatible = 0x1,
            Extensions = [(0xE2792ACA, Encoding.UTF8.GetBytes("qcow2")), (UnknownExtensionType, unknown)],
            BackingName = "../base/B.qcow2",
        };

        var parsed = Qcow2Header.Parse(raw.ToBytes(), FileLength, Path);

        Assert.Equal(3u, parsed.Version);
        Assert.Equal(16, parsed.ClusterBits);
        Assert.Equal(1L << 30, parsed.Size);
        Assert.Equal(2u, parsed.L1Size);
        Assert.Equal(3L * 65536, parsed.L1TableOffset);
        Assert.Equal(65536L, parsed.RefcountTableOffset);
        Assert.Equal(1u, parsed.RefcountTableClusters);
        Assert.Equal(0x3UL, parsed.AutoclearFeatures);
        Assert.Equal(0x1UL, parsed.CompatibleFeatures);
        Assert.True(parsed.HasLazyRefcounts);
        Assert.Equal(4, parsed.RefcountOrder);
        Assert.Equal(112u, parsed.HeaderLength);
        Assert.Equal("../base/B.qcow2", parsed.BackingFileName);
        Assert.Equal("qcow2", parsed.BackingFormat);
        var kept = Assert.Single(parsed.OtherExtensions);
        Assert.Equal(UnknownExtensionType, kept.Type);
        Assert.Equal(unknown, kept.Data);

        var reparsed = Qcow2Header.Parse(parsed.Serialize(), FileLength, Path);
        AssertSameHeader(parsed, reparsed);
    }

    [Fact]
    public void V2WithBackingNameAndFormatRoundTrips()
    {
        var raw = RawHeader.V2 with
        {
            Extensions = [(0xE2792ACA, Encoding.UTF8.GetBytes("qcow2"))],
            BackingName = "/images/base.qcow2",
        };

        var parsed = Qcow2Header.Parse(raw.ToBytes(), FileLength, Path);

        Assert.Equal(2u, parsed.Version);
        Assert.Equal(72u, parsed.HeaderLength);
        Assert.Equal(4, parsed.RefcountOrder);
        Assert.Equal(0UL, parsed.IncompatibleFeatures);
        Assert.Equal("/images/base.qcow2", parsed.BackingFileName);
        Assert.Equal("qcow2", parsed.BackingFormat);
        Assert.Empty(parsed.OtherExtensions);

        var bytes = parsed.Serialize();
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4)));
        AssertSameHeader(parsed, Qcow2Header.Parse(bytes, FileLength, Path));
    }

    [Fact]
    public void SerializedV3HeaderMatchesTheIndependentLayout()
    {
        var header = new Qcow2Header
        {
            Version = 3,
            ClusterBits = 16,
            Size = 1L << 30,
            L1Size = 2,
            L1TableOffset = 3 * 65536,
            RefcountTableOffset = 65536,
            RefcountTableClusters = 1,
            AutoclearFeatures = 0x80,
            HeaderLength = 112,
            BackingFileName = "B.qcow2",
            BackingFormat = "qcow2",
            OtherExtensions = [new HeaderExtension(UnknownExtensionType, [9, 8, 7])],
        };

        var expected = new RawHeader
        {
            Autoclear = 0x80,
            Extensions = [(0xE2792ACA, Encoding.UTF8.GetBytes("qcow2")), (UnknownExtensionType, new byte[] { 9, 8, 7 })],
            BackingName = "B.qcow2",
        }.ToBytes();

        Assert.Equal(expected, header.Serialize());
    }

    [Fact]
    public void UnknownExtensionsAreKeptVerbatimAndInOrder()
    {
        var first = Enumerable.Range(0, 13).Select(i => (byte)(0xF0 ^ i)).ToArray();
        var second = new byte[16];
        var third = Array.Empty<byte>();
        var raw = new RawHeader { Extensions = [(0xAAAA0001, first), (0xAAAA0002, second), (0xAAAA0003, third)] };

        var parsed = Qcow2Header.Parse(raw.ToBytes(), FileLength, Path);
        var again = Qcow2Header.Parse(parsed.Serialize(), FileLength, Path);

        foreach (var header in new[] { parsed, again })
        {
            Assert.Equal([0xAAAA0001u, 0xAAAA0002u, 0xAAAA0003u], header.OtherExtensions.Select(e => e.Type));
            Assert.Equal(first, header.OtherExtensions[0].Data);
            Assert.Equal(second, header.OtherExtensions[1].Data);
            Assert.Equal(third, header.OtherExtensions[2].Data);
        }
    }

    [Fact]
    public void AutoclearBitsSurviveARoundTrip()
    {
        var raw = new RawHeader { Autoclear = 0xFFFF_0000_0000_0001UL };

        var parsed = Qcow2Header.Parse(raw.ToBytes(), FileLength, Path);
        var again = Qcow2Header.Parse(parsed.Serialize(), FileLength, Path);

        Assert.Equal(0xFFFF_0000_0000_0001UL, parsed.AutoclearFeatures);
        Assert.Equal(0xFFFF_0000_0000_0001UL, again.AutoclearFeatures);
    }

    [Fact]
    public void RemovingTheBackingFileClearsNameAndFormat()
    {
        var raw = new RawHeader { Extensions = [(0xE2792ACA, Encoding.UTF8.GetBytes("qcow2"))], BackingName = "B.qcow2" };
        var parsed = Qcow2Header.Parse(raw.ToBytes(), FileLength, Path);

        var bytes = (parsed with { BackingFileName = null, BackingFormat = null }).Serialize();
        var again = Qcow2Header.Parse(bytes, FileLength, Path);

        Assert.Null(again.BackingFileName);
        Assert.Null(again.BackingFormat);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(8)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(16)));
    }

    private static void AssertSameHeader(Qcow2Header expected, Qcow2Header actual)
    {
        Assert.Equal(expected with { OtherExtensions = [] }, actual with { OtherExtensions = [] });
        Assert.Equal(expected.OtherExtensions.Count, actual.OtherExtensions.Count);
        for (var i = 0; i < expected.OtherExtensions.Count; i++)
        {
            Assert.Equal(expected.OtherExtensions[i].Type, actual.OtherExtensions[i].Type);
            Assert.Equal(expected.OtherExtensions[i].Data, actual.OtherExtensions[i].Data);
        }
    }
}
