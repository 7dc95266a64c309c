using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests.Storage;

/// <summary>A stream's backing-file string must name the base's own file; the rule alone, then on real files.</summary>
public sealed class BackingFileRuleTests
{
    private const string Top = "/roots/a/top.qcow2";
    private const string Base = "/roots/a/base.qcow2";
    private static readonly FileIdentity BaseId = new(1, 42, true);

    private static readonly Dictionary<string, FileIdentity> Files = new()
    {
        [Base] = BaseId,
        ["/roots/a/same-inode.qcow2"] = BaseId,
        ["/roots/a/other.raw"] = new(1, 43, true),
    };

    private static string? Refusal(string path) =>
        Path.GetFullPath(path).StartsWith("/roots/", StringComparison.Ordinal) ? null : "it lies outside the storage roots (/roots)";

    private static FileIdentity? Identity(string path) => Files.TryGetValue(path, out var id) ? id : null;

    [Theory]
    [InlineData("base.qcow2")]
    [InlineData("/roots/a/base.qcow2")]
    [InlineData("same-inode.qcow2")]
    public void A_name_of_the_base_file_is_accepted(string backingFile) =>
        Assert.Null(BackingFileRule.Check(backingFile, Top, Base, Refusal, Identity));

    [Theory]
    [InlineData("/etc/passwd", "outside the storage roots")]
    [InlineData("../../outside/o.qcow2", "outside the storage roots")]
    [InlineData("does-not-exist.qcow2", "no such file")]
    [InlineData("other.raw", "another file than the base image")]
    [InlineData("", "it is empty")]
    public void Anything_else_is_refused_with_the_field_and_the_reason(string backingFile, string reason)
    {
        var error = BackingFileRule.Check(backingFile, Top, Base, Refusal, Identity);

        Assert.NotNull(error);
        Assert.Equal("invalid-parameter", error.Code);
        Assert.Contains("'backing-file'", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_outside_name_is_never_looked_up()
    {
        var looked = new List<string>();
        BackingFileRule.Check("/etc/shadow", Top, Base, Refusal, p =>
        {
            looked.Add(p);
            return Identity(p);
        });

        Assert.Empty(looked);
    }

    [Fact]
    public void On_real_files_a_hard_link_to_the_base_passes_and_a_copy_does_not()
    {
        using var dir = new TempDirectory("backing-rule");
        var @base = dir.Combine("base.qcow2");
        QemuTools.Create(@base, 1 << 20);
        File.Copy(@base, dir.Combine("copy.qcow2"));
        ProcessRunner.Run("ln", [@base, dir.Combine("hard.qcow2")]).EnsureSuccess();
        var confinement = new StorageConfinement([dir.Path]);
        var top = dir.Combine("top.qcow2");

        Assert.Null(BackingFileRule.Check("hard.qcow2", top, @base, p => confinement.Refusal(PhysicalPath.Resolve(p)), p => FileIdentity.Of(p)));
        Assert.NotNull(BackingFileRule.Check("copy.qcow2", top, @base, p => confinement.Refusal(PhysicalPath.Resolve(p)), p => FileIdentity.Of(p)));
    }
}
