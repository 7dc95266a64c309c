namespace Orchestrator.ImageCommands.Parsing;

/// <summary>"did you mean": the closest known name to a mistyped one, by edit distance, when it is close enough to be a typo.</summary>
public static class Suggestion
{
    /// <summary>" (did you mean 'X'?)", or an empty string when nothing is close.</summary>
    public static string For(string typed, IEnumerable<string> known)
    {
        if (typed.TrimStart('-').Length < 2)
        {
            // One letter ("-z") is as close to every other one-letter option: no guess is better than a wrong one.
            return string.Empty;
        }

        var best = known
            .Where(name => name.TrimStart('-').Length > 1)
            .Select(name => (Name: name, Distance: Distance(typed.ToLowerInvariant(), name.ToLowerInvariant())))
            .Where(c => c.Distance <= Math.Max(1, c.Name.TrimStart('-').Length / 3) || IsPrefix(typed, c.Name))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => c.Name)
            .FirstOrDefault();
        return best is null ? string.Empty : $" (did you mean '{best}'?)";
    }

    // A prefix of at least three letters past the dashes ("--back" for "--backing-chain") is a likely abbreviation.
    private static bool IsPrefix(string typed, string name) =>
        typed.TrimStart('-').Length >= 3 && name.StartsWith(typed, StringComparison.OrdinalIgnoreCase);

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
