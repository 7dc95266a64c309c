using Orchestrator.Domain.Disks;

namespace Orchestrator.Domain.Tests.Disks;

/// <summary>How an operator's image name maps to an entry of the chain (the API and the disk actor share this).</summary>
public sealed class ChainImageNameTests
{
    private static readonly string[] Chain = ["/srv/vm/top.qcow2", "/srv/vm/mid.qcow2", "/srv/base/base.qcow2"];

    [Theory]
    [InlineData("/srv/vm/mid.qcow2", "/srv/vm/mid.qcow2")] // full path
    [InlineData("/srv/vm/./mid.qcow2", "/srv/vm/mid.qcow2")] // full path, normalised
    [InlineData("/srv/vm/../base/base.qcow2", "/srv/base/base.qcow2")]
    [InlineData("../base/base.qcow2", "/srv/base/base.qcow2")] // relative to the active image's folder
    [InlineData("./mid.qcow2", "/srv/vm/mid.qcow2")]
    [InlineData("mid.qcow2", "/srv/vm/mid.qcow2")] // bare name in the active image's folder
    [InlineData("base.qcow2", "/srv/base/base.qcow2")] // unique bare file name elsewhere in the chain
    public void Name_of_a_chain_image_resolves_to_its_entry(string name, string expected)
    {
        Assert.True(ChainImageName.TryResolve(name, Chain, out var path, out var error), error?.Message);
        Assert.Equal(expected, path);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("other.qcow2", "/srv/vm/other.qcow2")] // made absolute against the active image's folder
    [InlineData("sub/base.qcow2", "/srv/vm/sub/base.qcow2")] // against the active image's folder, never the current one; and not by file name
    [InlineData("/elsewhere/mid.qcow2", "/elsewhere/mid.qcow2")]
    public void Name_outside_the_chain_resolves_to_an_absolute_path_for_the_decision_to_refuse(string name, string expected)
    {
        Assert.True(ChainImageName.TryResolve(name, Chain, out var path, out _));
        Assert.Equal(expected, path);
        Assert.Equal(-1, Disk(Chain).IndexOf(path));
    }

    [Fact]
    public void Bare_file_name_shared_by_two_images_is_refused_naming_both()
    {
        string[] chain = ["/srv/vm/top.qcow2", "/srv/a/disk.qcow2", "/srv/b/disk.qcow2"];

        Assert.False(ChainImageName.TryResolve("disk.qcow2", chain, out _, out var error));

        Assert.Equal("invalid-parameter", error.Code);
        Assert.Equal("image name 'disk.qcow2' is ambiguous: 2 images of the chain have that file name (/srv/a/disk.qcow2, /srv/b/disk.qcow2); name it by its path",
            error.Message);
    }

    [Fact]
    public void Shared_file_name_in_the_active_image_folder_is_not_ambiguous()
    {
        // Relative to the active image's folder comes first, as QEMU resolves backing names.
        string[] chain = ["/srv/vm/top.qcow2", "/srv/vm/disk.qcow2", "/srv/b/disk.qcow2"];

        Assert.True(ChainImageName.TryResolve("disk.qcow2", chain, out var path, out _));
        Assert.Equal("/srv/vm/disk.qcow2", path);
        Assert.True(ChainImageName.TryResolve("../b/disk.qcow2", chain, out path, out _));
        Assert.Equal("/srv/b/disk.qcow2", path);
    }

    [Fact]
    public void Without_a_chain_the_name_is_kept_as_given()
    {
        Assert.True(ChainImageName.TryResolve("A.qcow2", [], out var path, out _));
        Assert.Equal("A.qcow2", path);
    }

    private static DiskState Disk(IReadOnlyList<string> chain) =>
        DiskState.For(new DiskId("vda")).Apply(new DiskRegistered(new DiskId("vda"), chain));
}
