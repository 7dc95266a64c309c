using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// orchestrator-img (the image verbs alone, published Native AOT) answers as `orchestrator image` does: the same stdout,
/// exit code and error line (after the program's name), and the same file afterwards. It runs here as its JIT assembly,
/// the same code its AOT build compiles; bench/open-scaling.sh compares the published AOT binary the same way.
/// </summary>
public sealed class ImageToolTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    public static TheoryData<string> Commands => new()
    {
        "info top.qcow2",
        "info --output json top.qcow2",
        "info --output json --backing-chain top.qcow2",
        "info --backing-chain -U top.qcow2",
        "map top.qcow2",
        "check top.qcow2",
        "check -r leaks top.qcow2",
        "info missing.qcow2",
        "info --no-such-option top.qcow2",
        "map top.qcow2 surplus",
        "rebase -b base.qcow2 top.qcow2",
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Answers_as_orchestrator_image(string command)
    {
        using var temp = new TempDirectory("img-tool");
        MakeChain(temp);
        var args = command.Split(' ');
        var cli = Tools.Orchestrator(temp.Path, ["image", .. args]);
        var tool = Tools.ImageTool(temp.Path, args);
        output.WriteLine($"{command}: exit {tool.ExitCode}\n{tool.StdOut}{tool.StdErr}");

        Assert.Equal(cli.ExitCode, tool.ExitCode);
        Assert.Equal(cli.StdOut, tool.StdOut);
        Assert.Equal(WithoutProgram(cli.StdErr, "orchestrator"), WithoutProgram(tool.StdErr, "orchestrator-img"));
    }

    [Fact]
    public void Rebase_rewrites_the_header_as_orchestrator_image_does()
    {
        using var cliFolder = new TempDirectory("img-tool-rebase-cli");
        using var toolFolder = new TempDirectory("img-tool-rebase");
        MakeChain(cliFolder);
        MakeChain(toolFolder);

        Expect.Exit(Tools.Orchestrator(cliFolder.Path, "image", "rebase", "-u", "-b", "", "top.qcow2"), 0, "orchestrator image rebase");
        Expect.Exit(Tools.ImageTool(toolFolder.Path, "rebase", "-u", "-b", "", "top.qcow2"), 0, "orchestrator-img rebase");

        var cliInfo = QemuTools.Img("info", "--output=json", cliFolder.Combine("top.qcow2")).EnsureSuccess().StdOut;
        var toolInfo = QemuTools.Img("info", "--output=json", toolFolder.Combine("top.qcow2")).EnsureSuccess().StdOut;
        Assert.DoesNotContain("backing-filename", toolInfo, StringComparison.Ordinal);
        Assert.Equal(cliInfo.Replace(cliFolder.Path, "", StringComparison.Ordinal), toolInfo.Replace(toolFolder.Path, "", StringComparison.Ordinal));
        Expect.Exit(QemuTools.Check(toolFolder.Combine("top.qcow2")), 0, "qemu-img check after orchestrator-img rebase");
    }

    [Fact]
    public void Help_lists_the_six_image_verbs_and_errors_name_the_tool()
    {
        var help = Expect.Exit(Tools.ImageTool(null, "--help"), 0, "orchestrator-img --help");
        foreach (var verb in new[] { "create", "info", "map", "check", "rebase", "stream" })
        {
            Assert.Contains($"  {verb}", help.StdOut, StringComparison.Ordinal);
        }

        var unknown = Expect.Exit(Tools.ImageTool(null, "imfo"), 1, "orchestrator-img imfo");
        Assert.Equal("orchestrator-img: unknown command 'imfo' (did you mean 'info'?); run 'orchestrator-img --help'", unknown.StdErr.Trim());
        Assert.Empty(unknown.StdOut);
    }

    /// <summary>base.qcow2 (16 MiB, data at 0) under top.qcow2 (data at 4 MiB), with relative backing names.</summary>
    private static void MakeChain(TempDirectory temp)
    {
        QemuTools.Create(temp.Combine("base.qcow2"), 16 * MiB);
        QemuTools.Create("top.qcow2", 16 * MiB, backing: "base.qcow2", workingDirectory: temp.Path);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 1 0 1M", temp.Combine("base.qcow2")).EnsureSuccess();
        QemuTools.Io("-f", "qcow2", "-c", "write -P 2 4M 512k", temp.Combine("top.qcow2")).EnsureSuccess();
    }

    private static string WithoutProgram(string stderr, string program) =>
        stderr.Replace($"{program}: ", "", StringComparison.Ordinal).Replace($"'{program} --help'", "'PROGRAM --help'", StringComparison.Ordinal);
}
