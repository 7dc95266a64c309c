using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Bash completion as the README tells an operator to enable it: its `_orchestrator` function, taken from the README,
/// run by a real bash with the variables bash sets when Tab is pressed, answers through the CLI's [suggest] directive.
/// </summary>
public sealed partial class CompletionTests(ITestOutputHelper output)
{
    private static readonly ExternalTool _bash = new("bash", "bash");

    [Theory]
    [InlineData("orchestrator ", "stream disk jobs job image serve demo snapshot block-copy events", "")]
    [InlineData("orchestrator di", "disk", "stream")]
    [InlineData("orchestrator image ", "info map check create rebase stream", "disk")]
    [InlineData("orchestrator stream d0 --no-auto-d", "--no-auto-dismiss", "--wait")]
    public void The_readme_bash_function_completes_verbs_and_options(string line, string expected, string notExpected)
    {
        using var folder = new TempDirectory("completion");
        var script = Path.Combine(folder.Path, "complete.sh");
        File.WriteAllText(script, $$"""
            orchestrator() { "{{Orchestrator.Dotnet}}" "{{Orchestrator.Dll}}" "$@"; }
            {{ReadmeFunction()}}
            COMP_LINE='{{line}}'
            COMP_POINT=${#COMP_LINE}
            read -r -a COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            _orchestrator
            printf '%s\n' "${COMPREPLY[@]}"
            """);

        var result = _bash.Run([script], workingDirectory: folder.Path);
        output.WriteLine(result.StdOut);
        Assert.True(result.ExitCode == 0, $"bash exit {result.ExitCode}: {result.StdErr}");
        var names = result.StdOut.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in expected.Split(' '))
        {
            Assert.Contains(name, names);
        }

        if (notExpected.Length > 0)
        {
            Assert.DoesNotContain(notExpected, names);
        }
    }

    /// <summary>The README's completion function, as written there.</summary>
    private static string ReadmeFunction()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryFolder.Root, "README.md"));
        var match = CompletionBlock().Match(readme);
        Assert.True(match.Success, "README.md has no ```bash block defining _orchestrator and `complete -F _orchestrator orchestrator`");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"```bash\n(_orchestrator\(\) \{.*?\n\}\ncomplete -F _orchestrator orchestrator)\n```", RegexOptions.Singleline)]
    private static partial Regex CompletionBlock();
}
