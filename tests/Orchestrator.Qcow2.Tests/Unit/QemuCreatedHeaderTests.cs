using System.Globalization;
using System.Text.Json;
using Orchestrator.Qcow2.Check;
using Orchestrator.Qcow2.Format;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Unit;

/// <summary>Headers written by qemu-img (the oracle) parse, and report what qemu-img info reports.</summary>
public sealed class QemuCreatedHeaderTests : IDisposable
{
    // Not a multiple of the cluster size for any cluster size, so L1 sizing must round up.
    private const long VirtualSize = (100L * 1024 * 1024) + 512;

    private readonly TempDirectory _dir = new("qcow2-header");

    public static TheoryData<int, string> ClusterSizesAndCompat()
    {
        var data = new TheoryData<int, string>();
        for (var bits = 9; bits <= 21; bits++)
        {
            data.Add(1 << bits, "0.10");
            data.Add(1 << bits, "1.1");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ClusterSizesAndCompat))]
    public void QemuImageParses(int clusterSize, string compat)
    {
        var path = _dir.Combine($"c{clusterSize}-{compat}.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", $"cluster_size={clusterSize},compat={compat}",
            path, VirtualSize.ToString(CultureInfo.InvariantCulture)).EnsureSuccess();

        var header = ParseFile(path);

        var version = compat == "0.10" ? 2u : 3u;
        Assert.Equal(version, header.Version);
        Assert.Equal(clusterSize, header.ClusterSize);
        Assert.Equal(int.TrailingZeroCount(clusterSize), header.ClusterBits);
        Assert.Equal(VirtualSize, header.Size);
        Assert.Equal(4, header.RefcountOrder);
        Assert.Equal(version == 2 ? 72u : 112u, header.HeaderLength);
        Assert.Equal(0UL, header.IncompatibleFeatures);
        Assert.Equal(0u, header.CryptMethod);
        Assert.Equal(0u, header.SnapshotCount);
        Assert.Null(header.BackingFileName);
        var bytesPerL2 = (long)clusterSize * (clusterSize / 8);
        Assert.True(header.L1Size >= (VirtualSize + bytesPerL2 - 1) / bytesPerL2, $"l1_size {header.L1Size}");
        Assert.Equal(0, header.L1TableOffset % clusterSize);
        Assert.Equal(clusterSize, header.RefcountTableOffset);
        AssertMatchesQemuInfo(path, header);
        AssertOpensClean(path);
    }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(1, 65536)]
    [InlineData(8, 65536)]
    [InlineData(16, 65536)]
    [InlineData(64, 512)]
    [InlineData(64, 65536)]
    public void RefcountWidthIsReported(int refcountBits, int clusterSize)
    {
        var path = _dir.Combine($"r{refcountBits}-{clusterSize}.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", $"cluster_size={clusterSize},refcount_bits={refcountBits}",
            path, "64M").EnsureSuccess();
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x5a 0 96k", "-c", "write -z 1M 64k", path).EnsureSuccess();

        var header = ParseFile(path);

        Assert.Equal(refcountBits, header.RefcountBits);
        Assert.Equal(int.TrailingZeroCount(refcountBits), header.RefcountOrder);
        AssertMatchesQemuInfo(path, header);
        AssertOpensClean(path);
    }

    [Fact]
    public void BackingNameAndFormatWrittenByQemuAreRead()
    {
        QemuTools.Create(_dir.Combine("base.qcow2"), 1 << 20);
        QemuTools.Create("top.qcow2", 1 << 20, backing: "base.qcow2", workingDirectory: _dir.Path);

        var header = ParseFile(_dir.Combine("top.qcow2"));

        Assert.Equal("base.qcow2", header.BackingFileName);
        Assert.Equal("qcow2", header.BackingFormat);
        Assert.DoesNotContain(header.OtherExtensions, e => e.Type == 0xE2792ACA);
    }

    [Fact]
    public void FeatureNameTableIsKeptAsAnExtension()
    {
        // qemu-img writes the feature name table (0x6803f857) into every v3 header.
        var path = _dir.Combine("features.qcow2");
        QemuTools.Create(path, 1 << 20);

        var header = ParseFile(path);

        var table = Assert.Single(header.OtherExtensions, e => e.Type == 0x6803F857);
        Assert.Equal(0, table.Data.Length % 48);
        var reparsed = Qcow2Header.Parse(header.Serialize(), new FileInfo(path).Length, path);
        Assert.Equal(table.Data, Assert.Single(reparsed.OtherExtensions, e => e.Type == 0x6803F857).Data);
    }

    public void Dispose() => _dir.Dispose();

    private static Qcow2Header ParseFile(string path)
    {
        using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
        var direct = Qcow2Header.Parse(File.ReadAllBytes(path).AsSpan(0, image.ClusterSize), new FileInfo(path).Length, path);
        Assert.Equal(image.Header with { OtherExtensions = [] }, direct with { OtherExtensions = [] });
        return direct;
    }

    private static void AssertMatchesQemuInfo(string path, Qcow2Header header)
    {
        using var info = JsonDocument.Parse(QemuTools.InfoJson(path, backingChain: false));
        var root = info.RootElement;
        Assert.Equal(header.ClusterSize, root.GetProperty("cluster-size").GetInt32());
        Assert.Equal(header.Size, root.GetProperty("virtual-size").GetInt64());
        var specific = root.GetProperty("format-specific").GetProperty("data");
        Assert.Equal(header.Version == 2 ? "0.10" : "1.1", specific.GetProperty("compat").GetString());
        Assert.Equal(header.RefcountBits, specific.GetProperty("refcount-bits").GetInt32());
    }

    private static void AssertOpensClean(string path)
    {
        using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
        var result = ImageChecker.Check(image, repairLeaks: false);
        Assert.True(result.ExitCode == 0, $"{path}: {string.Join("; ", result.Messages)}");
    }
}
