using System.Text.RegularExpressions;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Just enough shell and Dockerfile parsing to compare two build recipes: logical lines (backslash continuations
/// joined, comments dropped) split into words, with the quotes shells and Dockerfiles strip.
/// </summary>
internal static partial class BuildRecipe
{
    /// <summary>The logical lines of a shell script or Dockerfile, comments and blank lines left out.</summary>
    public static IReadOnlyList<string> LogicalLines(string text)
    {
        var lines = new List<string>();
        var current = string.Empty;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1].Trim() + " ";
                continue;
            }

            lines.Add((current + line.Trim()).Trim());
            current = string.Empty;
        }

        return lines;
    }

    /// <summary>Words of a command line; quotes are removed, and `$name`/`${name}` references are kept as written.</summary>
    public static IReadOnlyList<string> Words(string line) =>
        [.. WordPattern().Matches(line).Select(m => m.Value.Replace("\"", string.Empty, StringComparison.Ordinal).Replace("'", string.Empty, StringComparison.Ordinal))];

    /// <summary>The value of `name="${N:-value}"` in a script: the default of its positional parameter.</summary>
    public static string ScriptDefault(IEnumerable<string> lines, string name)
    {
        var pattern = new Regex($"^{Regex.Escape(name)}=\"\\$\\{{\\d+:-([^}}]*)\\}}\"$");
        foreach (var line in lines)
        {
            if (pattern.Match(line) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }

        throw new Xunit.Sdk.XunitException($"no default for '{name}' in the script");
    }

    [GeneratedRegex("(\"[^\"]*\"|'[^']*'|[^\\s\"']+)+")]
    private static partial Regex WordPattern();
}
