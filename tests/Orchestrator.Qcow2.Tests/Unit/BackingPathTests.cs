using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Qcow2.Tests.Unit;

public sealed class BackingPathTests
{
    [Theory]
    [InlineData("/images/top.qcow2", "/base/B.qcow2", "/base/B.qcow2")]
    [InlineData("relative/top.qcow2", "/base/B.qcow2", "/base/B.qcow2")]
    [InlineData("top.qcow2", "/B.qcow2", "/B.qcow2")]
    public void AbsoluteNameIsKeptAsIs(string referring, string backing, string expected)
    {
        Assert.Equal(expected, BackingPath.Combine(referring, backing));
    }

    [Theory]
    [InlineData("/images/top.qcow2", "B.qcow2", "/images/B.qcow2")]
    [InlineData("/images/top.qcow2", "sub/B.qcow2", "/images/sub/B.qcow2")]
    [InlineData("dir/top.qcow2", "B.qcow2", "dir/B.qcow2")]
    [InlineData("/top.qcow2", "B.qcow2", "/B.qcow2")]
    public void RelativeNameResolvesFromTheReferringImagesFolder(string referring, string backing, string expected)
    {
        Assert.Equal(expected, BackingPath.Combine(referring, backing));
    }

    [Fact]
    public void RelativeNameIsNotNormalised()
    {
        // qemu-img info prints full-backing-filename without collapsing "..".
        Assert.Equal("/a/b/../c/B.qcow2", BackingPath.Combine("/a/b/top.qcow2", "../c/B.qcow2"));
        Assert.Equal("/a/./B.qcow2", BackingPath.Combine("/a/top.qcow2", "./B.qcow2"));
    }

    [Fact]
    public void ReferringPathWithoutSlashGivesTheNameUnchanged()
    {
        Assert.Equal("B.qcow2", BackingPath.Combine("top.qcow2", "B.qcow2"));
        Assert.Equal("../B.qcow2", BackingPath.Combine("top.qcow2", "../B.qcow2"));
    }

    [Fact]
    public void RelativeNameIsRelativeToTheImagesFolder()
    {
        Assert.Equal("B.qcow2", BackingPath.RelativeName("/x/y/top.qcow2", "/x/y/B.qcow2"));
        Assert.Equal("../base/B.qcow2", BackingPath.RelativeName("/x/y/top.qcow2", "/x/base/B.qcow2"));
    }
}
