namespace Orchestrator.Qcow2.Tests.Unit;

public sealed class ImageCreateOptionsTests
{
    [Theory]
    [InlineData(1000L)]
    [InlineData(513L)]
    [InlineData(-512L)]
    public void SizeMustBeANonNegativeMultipleOf512(long size)
    {
        var e = Assert.Throws<Qcow2Exception>(() => new ImageCreateOptions { Size = size });
        Assert.Equal(Qcow2ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("size", e.Message, StringComparison.Ordinal);
        Assert.Contains("512", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(4 * 1024 * 1024)]
    [InlineData(256)]
    [InlineData(0)]
    public void ClusterSizeMustBeAPowerOfTwoFrom512To2MiB(int clusterSize)
    {
        var e = Assert.Throws<Qcow2Exception>(() => new ImageCreateOptions { Size = 1 << 20, ClusterSize = clusterSize });
        Assert.Equal(Qcow2ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("cluster_size", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(65536)]
    [InlineData(2 * 1024 * 1024)]
    public void ValidClusterSizesAreAccepted(int clusterSize)
    {
        var options = new ImageCreateOptions { Size = 0, ClusterSize = clusterSize };
        Assert.Equal(clusterSize, options.ClusterSize);
    }

    [Fact]
    public void DefaultsAreQemus()
    {
        var options = new ImageCreateOptions { Size = 1 << 20 };
        Assert.Equal(65536, options.ClusterSize);
        Assert.Equal("1.1", options.Compat);
    }

    [Theory]
    [InlineData("v2", "0.10")]
    [InlineData("v3", "1.1")]
    [InlineData("0.10", "0.10")]
    public void CompatAliasesAreNormalised(string given, string expected)
    {
        Assert.Equal(expected, new ImageCreateOptions { Size = 0, Compat = given }.Compat);
    }

    [Fact]
    public void UnknownCompatIsRefused()
    {
        var e = Assert.Throws<Qcow2Exception>(() => new ImageCreateOptions { Size = 0, Compat = "1.0" });
        Assert.Equal(Qcow2ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("compat", e.Message, StringComparison.Ordinal);
    }
}
