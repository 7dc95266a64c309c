using System.Buffers.Binary;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Tests.Unit;

/// <summary>One test per invariant that <see cref="Qcow2Header.Parse"/> enforces: the kind, and a message naming the feature.</summary>
public sealed class HeaderInvariantTests
{
    private const string Path = "hostile.qcow2";
    private const long FileLength = 1L << 24;

    [Fact]
    public void ValidBaselineParses()
    {
        // Every test below breaks exactly one field of this header.
        var header = Qcow2Header.Parse(new RawHeader().ToBytes(), FileLength, Path);
        Assert.Equal(3u, header.Version);
    }

    [Fact]
    public void BadMagicIsInvalidFormat()
    {
        AssertRefused(new RawHeader { Magic = 0x514649FA }, Qcow2ErrorKind.InvalidFormat, "magic");
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(4u)]
    public void UnsupportedVersionIsRefused(uint version)
    {
        AssertRefused(new RawHeader { Version = version }, Qcow2ErrorKind.UnsupportedFeature, $"version {version}");
    }

    [Theory]
    [InlineData(8u)]
    [InlineData(22u)]
    public void ClusterBitsOutsideNineToTwentyOneIsInvalidFormat(uint clusterBits)
    {
        AssertRefused(new RawHeader { ClusterBits = clusterBits }, Qcow2ErrorKind.InvalidFormat, "cluster_bits", 1 << 16);
    }

    [Fact]
    public void V3HeaderLength100IsInvalidFormat()
    {
        AssertRefused(new RawHeader { HeaderLength = 100 }, Qcow2ErrorKind.InvalidFormat, "header");
    }

    [Theory]
    [InlineData(1u, "AES")]
    [InlineData(2u, "LUKS")]
    public void EncryptionIsUnsupported(uint cryptMethod, string name)
    {
        var e = AssertRefused(new RawHeader { CryptMethod = cryptMethod }, Qcow2ErrorKind.UnsupportedFeature, "encrypt");
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExternalDataFileBitIsUnsupported()
    {
        AssertRefused(new RawHeader { Incompatible = 1UL << 2 }, Qcow2ErrorKind.UnsupportedFeature, "external data file");
    }

    [Fact]
    public void ExternalDataFileExtensionIsUnsupported()
    {
        var raw = new RawHeader { Extensions = [(0x44415441, "data.raw"u8.ToArray())] };
        AssertRefused(raw, Qcow2ErrorKind.UnsupportedFeature, "external data file");
    }

    [Fact]
    public void ExtendedL2BitIsUnsupported()
    {
        AssertRefused(new RawHeader { Incompatible = 1UL << 4 }, Qcow2ErrorKind.UnsupportedFeature, "extended L2");
    }

    [Fact]
    public void ZstdCompressionTypeIsUnsupported()
    {
        AssertRefused(new RawHeader { Incompatible = 1UL << 3, CompressionType = 1 }, Qcow2ErrorKind.UnsupportedFeature, "zstd");
    }

    [Fact]
    public void CompressionTypeBitWithZlibIsInvalidFormatAndSaysSo()
    {
        // QEMU: "Compression type incompatible feature bit must not be set" when the type is zlib.
        var e = AssertRefused(new RawHeader { Incompatible = 1UL << 3, CompressionType = 0 }, Qcow2ErrorKind.InvalidFormat, "compression type");
        Assert.DoesNotContain("unknown compression type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownIncompatibleBitIsUnsupported()
    {
        var e = AssertRefused(new RawHeader { Incompatible = 0x100 }, Qcow2ErrorKind.UnsupportedFeature, "incompatible feature");
        Assert.Contains("0x100", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void L1TooSmallForTheVirtualSizeIsInvalidFormat()
    {
        // 1 GiB with 64 KiB clusters needs two L1 entries (512 MiB each).
        AssertRefused(new RawHeader { L1Size = 1 }, Qcow2ErrorKind.InvalidFormat, "L1 table");
    }

    [Fact]
    public void UnalignedL1OffsetIsInvalidFormat()
    {
        var e = AssertRefused(new RawHeader { L1TableOffset = (3 * 65536) + 512 }, Qcow2ErrorKind.InvalidFormat, "L1 table offset");
        Assert.Contains("aligned", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefcountOrder7IsInvalidFormat()
    {
        AssertRefused(new RawHeader { RefcountOrder = 7 }, Qcow2ErrorKind.InvalidFormat, "refcount_order");
    }

    [Fact]
    public void BackingNameLongerThan1023IsInvalidFormat()
    {
        var raw = new RawHeader { BackingName = new string('a', 1024) };
        var e = AssertRefused(raw, Qcow2ErrorKind.InvalidFormat, "backing file name");
        Assert.Contains("1023", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BackingNameOutsideTheHeaderClusterIsInvalidFormat()
    {
        var raw = new RawHeader { BackingName = "B.qcow2", BackingOffsetOverride = 65536 - 4 };
        AssertRefused(raw, Qcow2ErrorKind.InvalidFormat, "backing file name");
    }

    [Fact]
    public void ExtensionOverrunningTheHeaderIsInvalidFormat()
    {
        var bytes = new RawHeader { Extensions = [(0x12345678, new byte[8])] }.ToBytes();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(112 + 4), 65536);

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Header.Parse(bytes, FileLength, Path));

        Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("extension", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("12345678", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooShortBufferIsInvalidFormat()
    {
        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Header.Parse(new RawHeader().ToBytes()[..40], 40, Path));
        Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("too small", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorsNameTheFile()
    {
        var e = AssertRefused(new RawHeader { Magic = 0 }, Qcow2ErrorKind.InvalidFormat, "magic");
        Assert.Equal(Path, e.Path);
        Assert.StartsWith(Path, e.Message, StringComparison.Ordinal);
    }

    private static Qcow2Exception AssertRefused(RawHeader raw, Qcow2ErrorKind kind, string feature, int? bufferLength = null)
    {
        var bytes = raw.ToBytes(bufferLength);
        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Header.Parse(bytes, FileLength, Path));
        Assert.Equal(kind, e.Kind);
        Assert.Contains(feature, e.Message, StringComparison.OrdinalIgnoreCase);
        return e;
    }
}
