using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// Every user error: a non-zero exit, exactly one line on stderr that names the problem, nothing on stdout,
/// no stack trace, and no image modified.
/// </summary>
public sealed class CliErrorTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    public static TheoryData<string> Verbs => new() { "info", "info-chain", "map", "check", "stream", "rebase" };

    public static TheoryData<string, string> NotQcow2Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "text", "empty", "raw-zeros", "truncated-qcow2-header" })
        {
            foreach (var verb in new[] { "info", "map", "check", "stream" })
            {
                data.Add(kind, verb);
            }
        }

        return data;
    }

    public static TheoryData<string, string> LoopCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var loop in new[] { "self", "two-images" })
        {
            foreach (var verb in new[] { "info-chain", "map", "stream" })
            {
                data.Add(loop, verb);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void MissingFile_FailsCleanly(string verb)
    {
        using var temp = new TempDirectory("err-missing");
        var result = Tools.Orchestrator(temp.Path, VerbArgs(verb, "nope.qcow2"));
        AssertCleanFailure(result, "nope.qcow2", $"{verb} of a missing file");
        Assert.False(File.Exists(temp.Combine("nope.qcow2")), $"{verb} of a missing file created it");
    }

    [Theory]
    [MemberData(nameof(NotQcow2Cases))]
    public void NotQcow2_FailsCleanly(string kind, string verb)
    {
        using var temp = new TempDirectory("err-format");
        var file = temp.Combine("disk.img");
        switch (kind)
        {
            case "text":
                File.WriteAllText(file, "this is not a disk image\nsecond line\n");
                break;
            case "empty":
                File.WriteAllBytes(file, []);
                break;
            case "raw-zeros":
                File.WriteAllBytes(file, new byte[MiB]);
                break;
            default:
                // The first 100 bytes of a valid v3 image: magic and version are right, the header is cut short.
                var image = temp.Combine("valid.qcow2");
                QemuTools.Create(image, MiB);
                File.WriteAllBytes(file, File.ReadAllBytes(image).AsSpan(0, 100).ToArray());
                break;
        }

        var before = File.ReadAllBytes(file);
        var result = Tools.Orchestrator(temp.Path, VerbArgs(verb, "disk.img"));
        AssertCleanFailure(result, "disk.img", $"{verb} of a {kind} file");
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{verb} of a {kind} file modified it");
    }

    [Theory]
    [InlineData("other.qcow2")]
    [InlineData("missing.qcow2")]
    [InlineData("C.qcow2")]
    public void Stream_BaseNotBelowTop_FailsCleanly(string baseName)
    {
        using var temp = new TempDirectory("err-base");
        var top = SmallChain(temp);
        QemuTools.Create(temp.Combine("other.qcow2"), MiB);
        var before = File.ReadAllBytes(top);

        var result = Tools.Orchestrator(temp.Path, "image", "stream", "--base", baseName, "C.qcow2");

        AssertCleanFailure(result, baseName, $"stream --base {baseName} C.qcow2 (chain C -> B -> A)");
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(top)), $"stream --base {baseName} modified the top");
    }

    [Theory]
    [InlineData("map", "--bogus")]
    [InlineData("info", "--frobnicate")]
    [InlineData("stream", "--speed")]
    [InlineData("check", "--repair-everything")]
    [InlineData("create", "-z")]
    [InlineData("rebase", "--no-such-thing")]
    public void UnknownOption_FailsCleanly(string verb, string option)
    {
        using var temp = new TempDirectory("err-option");
        var top = SmallChain(temp);
        var before = File.ReadAllBytes(top);
        string[] args = verb == "create"
            ? ["image", "create", option, "-f", "qcow2", "new.qcow2", "1M"]
            : ["image", verb, option, "C.qcow2"];

        var result = Tools.Orchestrator(temp.Path, args);

        AssertCleanFailure(result, option, string.Join(' ', args));
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(top)), $"{string.Join(' ', args)} modified the image");
        Assert.False(File.Exists(temp.Combine("new.qcow2")), $"{string.Join(' ', args)} created the image anyway");
    }

    [Theory]
    [InlineData("map")]
    [InlineData("info-chain")]
    [InlineData("stream")]
    [InlineData("stream-with-base")]
    public void MissingBackingFile_FailsCleanly(string verb)
    {
        using var temp = new TempDirectory("err-backing");
        var top = SmallChain(temp);
        File.Delete(temp.Combine("B.qcow2"));
        var before = File.ReadAllBytes(top);
        string[] args = verb == "stream-with-base" ? ["image", "stream", "--base", "A.qcow2", "C.qcow2"] : VerbArgs(verb, "C.qcow2");

        var result = Tools.Orchestrator(temp.Path, args);

        AssertCleanFailure(result, "B.qcow2", $"{string.Join(' ', args)} with B.qcow2 missing from C -> B -> A");
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(top)), $"{string.Join(' ', args)} modified the top");
    }

    [Theory]
    [MemberData(nameof(LoopCases))]
    public void BackingLoop_FailsCleanly(string loop, string verb)
    {
        using var temp = new TempDirectory("err-loop");
        QemuTools.Create(temp.Combine("A.qcow2"), MiB);
        QemuTools.Create(temp.Combine("B.qcow2"), MiB, backing: "A.qcow2", workingDirectory: temp.Path);
        if (loop == "self")
        {
            Tools.QemuImg(temp.Path, "rebase", "-u", "-b", "B.qcow2", "-F", "qcow2", "B.qcow2").EnsureSuccess();
        }
        else
        {
            Tools.QemuImg(temp.Path, "rebase", "-u", "-b", "B.qcow2", "-F", "qcow2", "A.qcow2").EnsureSuccess();
        }

        var beforeA = File.ReadAllBytes(temp.Combine("A.qcow2"));
        var beforeB = File.ReadAllBytes(temp.Combine("B.qcow2"));

        var result = Tools.Orchestrator(temp.Path, VerbArgs(verb, "B.qcow2"));

        AssertCleanFailure(result, "loop", $"{verb} of B.qcow2 with a {loop} backing loop");
        Assert.True(beforeA.AsSpan().SequenceEqual(File.ReadAllBytes(temp.Combine("A.qcow2"))), $"{verb} modified A.qcow2");
        Assert.True(beforeB.AsSpan().SequenceEqual(File.ReadAllBytes(temp.Combine("B.qcow2"))), $"{verb} modified B.qcow2");
    }

    [Theory]
    [InlineData("qcow2", false)]
    [InlineData("qcow2", true)]
    [InlineData("text", false)]
    public void Create_OverExistingFile_FailsAndKeepsIt(string existing, bool withBacking)
    {
        using var temp = new TempDirectory("err-create");
        var file = temp.Combine("disk.qcow2");
        if (existing == "qcow2")
        {
            QemuTools.Create(file, 2 * MiB, 4096);
            QemuTools.Io("-f", "qcow2", "-c", "write -P 0x77 0 64k", file).EnsureSuccess();
        }
        else
        {
            File.WriteAllText(file, "precious data\n");
        }

        QemuTools.Create(temp.Combine("base.qcow2"), MiB);
        var before = File.ReadAllBytes(file);
        string[] args = withBacking
            ? ["image", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "disk.qcow2", "1M"]
            : ["image", "create", "-f", "qcow2", "disk.qcow2", "1M"];

        var result = Tools.Orchestrator(temp.Path, args);

        AssertCleanFailure(result, "disk.qcow2", string.Join(' ', args));
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{string.Join(' ', args)} changed the existing file");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Create_WithMissingBackingFile_FailsCleanly(bool withSize)
    {
        using var temp = new TempDirectory("err-create-backing");
        string[] args = withSize
            ? ["image", "create", "-f", "qcow2", "-b", "missing.qcow2", "-F", "qcow2", "new.qcow2", "1M"]
            : ["image", "create", "-f", "qcow2", "-b", "missing.qcow2", "-F", "qcow2", "new.qcow2"];
        var result = Tools.Orchestrator(temp.Path, args);
        AssertCleanFailure(result, "missing.qcow2", string.Join(' ', args));
        Assert.False(File.Exists(temp.Combine("new.qcow2")), $"{string.Join(' ', args)} created the image anyway");
    }

    [Theory]
    [InlineData("cluster_size=1000")]
    [InlineData("cluster_size=4M")]
    [InlineData("cluster_size=99999999999")]
    [InlineData("cluster_size=abc")]
    [InlineData("compat=2.0")]
    public void Create_InvalidOption_FailsCleanly(string option)
    {
        using var temp = new TempDirectory("err-create-option");
        var result = Tools.Orchestrator(temp.Path, "image", "create", "-f", "qcow2", "-o", option, "new.qcow2", "1M");
        var name = option.Split('=')[0];
        AssertCleanFailure(result, name, $"image create -o {option}");
        Assert.False(File.Exists(temp.Combine("new.qcow2")), $"image create -o {option} created the image anyway");
    }

    /// <summary>A &lt;- B &lt;- C (relative names) in the folder; returns C's path.</summary>
    private static string SmallChain(TempDirectory temp)
    {
        QemuTools.Create(temp.Combine("A.qcow2"), 2 * MiB);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 128k", temp.Combine("A.qcow2")).EnsureSuccess();
        QemuTools.Create(temp.Combine("B.qcow2"), 2 * MiB, backing: "A.qcow2", workingDirectory: temp.Path);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x22 64k 128k", temp.Combine("B.qcow2")).EnsureSuccess();
        QemuTools.Create(temp.Combine("C.qcow2"), 2 * MiB, backing: "B.qcow2", workingDirectory: temp.Path);
        return temp.Combine("C.qcow2");
    }

    private static string[] VerbArgs(string verb, string file) => verb switch
    {
        "info" => ["image", "info", "--output", "json", file],
        "info-chain" => ["image", "info", "--output", "json", "--backing-chain", file],
        "map" => ["image", "map", "--output", "json", file],
        "check" => ["image", "check", file],
        "stream" => ["image", "stream", file],
        "rebase" => ["image", "rebase", "-u", "-b", "A.qcow2", "-F", "qcow2", file],
        _ => throw new ArgumentException($"unknown verb {verb}", nameof(verb)),
    };

    private void AssertCleanFailure(ProcessResult result, string mustMention, string what)
    {
        output.WriteLine($"{what}: exit {result.ExitCode}, stderr: {result.StdErr.TrimEnd()}");
        var evidence = $"{what}{Environment.NewLine}{Expect.Describe(result)}";
        Assert.True(result.ExitCode != 0, $"expected a non-zero exit code: {evidence}");
        Assert.True(!result.StdErr.Contains("   at ", StringComparison.Ordinal) && !result.StdErr.Contains("Unhandled exception", StringComparison.Ordinal),
            $"a stack trace was printed: {evidence}");
        Assert.True(result.StdOut.Length == 0, $"expected nothing on stdout: {evidence}");
        var lines = result.StdErr.TrimEnd('\n').Split('\n');
        Assert.True(result.StdErr.Trim().Length > 0 && lines.Length == 1, $"expected exactly one line on stderr, got {lines.Length}: {evidence}");
        Assert.True(lines[0].Contains(mustMention, StringComparison.Ordinal), $"stderr does not name '{mustMention}': {evidence}");
    }
}
