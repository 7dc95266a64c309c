using System.Text.RegularExpressions;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// The CLI's parser as a user meets it: --help and -h on every verb list its options and exit 0, --version prints one,
/// mistyped verbs and options get a "did you mean" on the one error line, and shell completion answers the
/// [suggest] directive.
/// </summary>
public sealed partial class CliHelpTests(ITestOutputHelper output)
{
    private const string ClientOptions = "--server --token-file --data --output";

    /// <summary>Every verb and the options its help must list (today's options, written out here so that a dropped one fails).</summary>
    public static TheoryData<string, string> Verbs => new()
    {
        { "image create", "-f -o -b -F -t -q" },
        { "image info", "--output -f --backing-chain -U --force-share" },
        { "image map", "--output -f -U --force-share" },
        { "image check", "-r -f -U --force-share" },
        { "image rebase", "-u -b -F -f" },
        { "image stream", "--base -b --backing-file -t -T --batch-size --checkpoint-size -f -q -p" },
        { "demo", "--dir --size -t --seed --keep" },
        { "serve", "--data --http --storage-root --cache --request-timeout --batch-size --checkpoint-size --snapshot-interval --guest-yield-size --nbd --nbd-allow-remote --nbd-read-only --nbd-handshake-timeout --journal --node-name --cluster-host --cluster-port --seed --log-format --metrics-need-token --image-locking" },
        { "disk add", $"--host {ClientOptions}" },
        { "disk list", ClientOptions },
        { "disk show", ClientOptions },
        { "disk remove", ClientOptions },
        { "snapshot", ClientOptions },
        { "stream", $"--base --top --backing-file --job-id --speed --on-error --no-auto-dismiss --wait --timeout --detach {ClientOptions}" },
        { "block-copy", $"--job-id --speed --on-error --no-auto-dismiss --wait --timeout --detach {ClientOptions}" },
        { "jobs", $"--all {ClientOptions}" },
        { "job pause", ClientOptions },
        { "job resume", ClientOptions },
        { "job cancel", ClientOptions },
        { "job dismiss", ClientOptions },
        { "job set-speed", ClientOptions },
        { "events", $"--follow -f --after {ClientOptions}" },
        { "image", "" },
        { "disk", "" },
        { "job", "" },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public void Help_OnEveryVerb_ExitsZeroAndListsItsOptions(string verb, string options)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            string[] args = [.. verb.Split(' '), flag];
            var result = Tools.Orchestrator(null, args);
            var evidence = Expect.Describe(result);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)} exited {result.ExitCode}: {evidence}");
            Assert.True(result.StdErr.Length == 0, $"{string.Join(' ', args)} wrote to stderr: {evidence}");
            Assert.Contains($"orchestrator {verb}", result.StdOut, StringComparison.Ordinal);
            foreach (var option in options.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                // An option is listed at the start of a help line, alone or with its aliases ("-b, --base <BASE>").
                var listed = new Regex($@"^\s+(\S+, )*{Regex.Escape(option)}(,| |$)", RegexOptions.Multiline).IsMatch(result.StdOut);
                Assert.True(listed, $"{string.Join(' ', args)} does not list {option}: {evidence}");
            }
        }
    }

    [Fact]
    public void Help_AsAVerb_ShowsTheVerbsHelp()
    {
        var result = Tools.Orchestrator(null, "help", "stream");
        Expect.Exit(result, 0, "help stream");
        Assert.Contains("--timeout", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void NoArguments_PrintsTheVerbsAndFails()
    {
        var result = Tools.Orchestrator(null);
        Expect.Exit(result, 1, "orchestrator with no arguments");
        foreach (var verb in new[] { "image", "demo", "serve", "disk", "snapshot", "stream", "block-copy", "jobs", "job", "events" })
        {
            Assert.Matches(new Regex($@"^\s+{Regex.Escape(verb)}\b", RegexOptions.Multiline), result.StdOut);
        }
    }

    [Fact]
    public void Version_PrintsTheVersion()
    {
        var result = Tools.Orchestrator(null, "--version");
        Expect.Exit(result, 0, "--version");
        output.WriteLine(result.StdOut);
        Assert.Matches(VersionLine(), result.StdOut);
    }

    [Theory]
    [InlineData("image info --backing-chian x.qcow2", "unknown option '--backing-chian'", "--backing-chain")]
    [InlineData("image stream --bsae A.qcow2 C.qcow2", "unknown option '--bsae'", "--base")]
    [InlineData("stream d0 --no-auto-dimsiss", "unknown option '--no-auto-dimsiss'", "--no-auto-dismiss")]
    [InlineData("serve --storage-roots /tmp", "unknown option '--storage-roots'", "--storage-root")]
    [InlineData("imgae info x.qcow2", "unknown command 'imgae'", "image")]
    [InlineData("strem d0", "unknown command 'strem'", "stream")]
    [InlineData("image inof x.qcow2", "unknown image command 'inof'", "info")]
    [InlineData("disk lsit", "unknown disk command 'lsit'", "list")]
    [InlineData("job pasue j0", "unknown job command 'pasue'", "pause")]
    public void Mistyped_GetsOneLineWithASuggestion(string commandLine, string error, string suggestion)
    {
        var result = Tools.Orchestrator(null, commandLine.Split(' '));
        var evidence = Expect.Describe(result);
        Assert.True(result.ExitCode == 1, $"expected exit 1: {evidence}");
        Assert.True(result.StdOut.Length == 0, $"expected nothing on stdout: {evidence}");
        var lines = result.StdErr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, $"expected one line on stderr: {evidence}");
        Assert.Contains(error, lines[0], StringComparison.Ordinal);
        Assert.Contains($"did you mean '{suggestion}'?", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Mistyped_FarFromAnything_GetsNoSuggestion()
    {
        var result = Tools.Orchestrator(null, "image", "info", "--frobnicate", "x.qcow2");
        Expect.Exit(result, 1, "image info --frobnicate");
        Assert.DoesNotContain("did you mean", result.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image in", "info", "check")]
    [InlineData("stream d0 --no-auto-d", "--no-auto-dismiss", "--wait")]
    [InlineData("dis", "disk", "stream")]
    public void Completion_SuggestDirective_AnswersWithMatchingNames(string typed, string expected, string notExpected)
    {
        var result = Tools.Orchestrator(null, $"[suggest:{typed.Length}]", typed);
        Expect.Exit(result, 0, $"[suggest] {typed}");
        var names = result.StdOut.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(expected, names);
        Assert.DoesNotContain(notExpected, names);
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+")]
    private static partial Regex VersionLine();
}
