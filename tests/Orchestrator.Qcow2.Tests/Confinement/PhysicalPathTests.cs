using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Confinement;

/// <summary>Names resolved as the kernel walks them: a symlink is followed before the '..' after it applies.</summary>
public sealed class PhysicalPathTests : IDisposable
{
    private readonly TempDirectory _dir = new("physical-path");

    [Fact]
    public void Dotdot_after_a_symlinked_folder_climbs_from_where_the_link_leads()
    {
        var outside = Directory.CreateDirectory(_dir.Combine("outside/deep")).FullName;
        var root = Directory.CreateDirectory(_dir.Combine("root")).FullName;
        File.CreateSymbolicLink(Path.Combine(root, "link"), outside);

        Assert.Equal(Path.Combine(_dir.Path, "outside", "x.qcow2"), PhysicalPath.Resolve(Path.Combine(root, "link/../x.qcow2")));
        Assert.Equal(Path.Combine(root, "x.qcow2"), Path.GetFullPath(Path.Combine(root, "link/../x.qcow2")));
    }

    [Fact]
    public void Relative_and_absolute_symlinks_and_missing_components_resolve()
    {
        var root = Directory.CreateDirectory(_dir.Combine("r")).FullName;
        File.WriteAllText(Path.Combine(root, "real"), "x");
        File.CreateSymbolicLink(Path.Combine(root, "rel"), "real");
        File.CreateSymbolicLink(Path.Combine(root, "abs"), Path.Combine(root, "real"));

        Assert.Equal(Path.Combine(root, "real"), PhysicalPath.Resolve(Path.Combine(root, "rel")));
        Assert.Equal(Path.Combine(root, "real"), PhysicalPath.Resolve(Path.Combine(root, "./abs")));
        Assert.Equal(Path.Combine(root, "no/such/file"), PhysicalPath.Resolve(Path.Combine(root, "no/such/../such/file")));
    }

    [Fact]
    public void A_symlink_loop_is_a_clear_error()
    {
        var a = _dir.Combine("a");
        File.CreateSymbolicLink(a, "b");
        File.CreateSymbolicLink(_dir.Combine("b"), "a");

        var e = Assert.Throws<Qcow2Exception>(() => PhysicalPath.Resolve(a));
        Assert.Contains("too many levels of symbolic links", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Is_under_compares_whole_components()
    {
        Assert.True(PhysicalPath.IsUnder("/srv/images/a.qcow2", "/srv/images"));
        Assert.True(PhysicalPath.IsUnder("/srv/images", "/srv/images/"));
        Assert.False(PhysicalPath.IsUnder("/srv/images2/a.qcow2", "/srv/images"));
        Assert.True(PhysicalPath.IsUnder("/anything", "/"));
    }

    public void Dispose() => _dir.Dispose();
}
