using Orchestrator.Engine.Storage;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests.Storage;

/// <summary>Paths named in requests: inside a root only when the file they lead to is, symlinks followed before '..'.</summary>
public sealed class StoragePolicyTests : IDisposable
{
    private readonly TempDirectory _dir = new("storage-policy");

    private string Root => Directory.CreateDirectory(_dir.Combine("root")).FullName;

    [Fact]
    public void A_symlinked_folder_followed_by_dotdot_that_leaves_the_root_is_refused()
    {
        var deep = Directory.CreateDirectory(_dir.Combine("outside/deep")).FullName;
        File.CreateSymbolicLink(Path.Combine(Root, "link"), deep);

        var e = Assert.Throws<StorageRootException>(() => StoragePolicy.Resolve(Path.Combine(Root, "link/../x.qcow2"), [Root]));

        Assert.Contains("outside the storage roots", e.Message, StringComparison.Ordinal);
        Assert.Contains(Root, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dotdot_that_stays_inside_resolves_to_the_file_the_kernel_would_open()
    {
        var b = Directory.CreateDirectory(Path.Combine(Root, "b/c")).FullName;
        Directory.CreateDirectory(Path.Combine(Root, "a"));
        File.CreateSymbolicLink(Path.Combine(Root, "a/link"), b);

        Assert.Equal(Path.Combine(Root, "b", "x.qcow2"), StoragePolicy.Resolve(Path.Combine(Root, "a/link/../x.qcow2"), [Root]));
        Assert.Equal(Path.Combine(Root, "a", "y.qcow2"), StoragePolicy.Resolve(Path.Combine(Root, "a/./y.qcow2"), [Root]));
    }

    [Fact]
    public void A_symlink_inside_to_a_file_outside_is_refused_and_one_to_a_file_inside_is_not()
    {
        var outside = Directory.CreateDirectory(_dir.Combine("out")).FullName;
        File.CreateSymbolicLink(Path.Combine(Root, "out.qcow2"), Path.Combine(outside, "o.qcow2"));
        File.CreateSymbolicLink(Path.Combine(Root, "in.qcow2"), "real.qcow2");

        Assert.Throws<StorageRootException>(() => StoragePolicy.Resolve(Path.Combine(Root, "out.qcow2"), [Root]));
        Assert.Equal(Path.Combine(Root, "in.qcow2"), StoragePolicy.Resolve(Path.Combine(Root, "in.qcow2"), [Root]));
    }

    [Fact]
    public void A_nul_byte_is_refused_with_a_clear_message()
    {
        var e = Assert.Throws<StorageRootException>(() => StoragePolicy.Resolve(Root + "/a\0b", [Root]));
        Assert.Contains("NUL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_confinement_names_the_roots_it_refuses_for()
    {
        var confinement = new StorageConfinement([Root, "/srv/other"]);

        Assert.Null(confinement.Refusal(Path.Combine(Root, "x")));
        Assert.Equal($"it lies outside the storage roots ({Root}, /srv/other)", confinement.Refusal("/etc/shadow"));
    }

    public void Dispose() => _dir.Dispose();
}
