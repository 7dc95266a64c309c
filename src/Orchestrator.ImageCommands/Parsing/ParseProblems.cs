using System.CommandLine;
using System.CommandLine.Parsing;

namespace Orchestrator.ImageCommands.Parsing;

/// <summary>
/// The first thing wrong with a command line, as one line in the words the CLI has always used ("unknown option '--x'",
/// "option '--base' needs a value", "unexpected argument 'y'", "unknown command 'z'"), with a "did you mean" when a known
/// name is close. System.CommandLine takes an unknown "--x" for a positional argument, so options are checked here:
/// as before, anything that starts with '-' (other than "-" and after "--") is an option.
/// </summary>
public static class ParseProblems
{
    /// <summary>The problem, or null when the verb may run; <paramref name="program"/> names the executable in "run 'PROGRAM --help'".</summary>
    public static string? Find(ParseResult result, string program)
    {
        var command = result.CommandResult.Command;
        if (command.Action is null)
        {
            return MissingVerb(result, command, program);
        }

        var valueTokens = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        var argumentTokens = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        foreach (var child in result.CommandResult.Children)
        {
            var target = child is OptionResult ? valueTokens : argumentTokens;
            foreach (var token in child.Tokens)
            {
                target.Add(token);
            }
        }

        var afterDoubleDash = false;
        foreach (var token in result.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                afterDoubleDash = true;
                continue;
            }

            if (token.Type != TokenType.Argument || valueTokens.Contains(token))
            {
                continue;
            }

            if (!afterDoubleDash && token.Value.Length > 1 && token.Value[0] == '-')
            {
                if (command.Name == "set-speed" && char.IsAsciiDigit(token.Value[1]))
                {
                    // QEMU's wording for a negative speed, which would otherwise read as an unknown option.
                    return "Invalid parameter 'speed': must be 0 (unlimited) or a positive number of bytes per second";
                }

                return $"unknown option '{token.Value}'" + Suggestion.For(OptionName(token.Value), OptionNames(command));
            }

            if (!argumentTokens.Contains(token))
            {
                return $"unexpected argument '{token.Value}'";
            }
        }

        foreach (var error in result.Errors)
        {
            if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option)
            {
                return $"option '{option.IdentifierToken?.Value ?? option.Option.Name}' needs a value";
            }
        }

        return result.Errors.Count > 0 ? result.Errors[0].Message : null;
    }

    /// <summary>A group (image, disk, job, or the root) reached without one of its verbs.</summary>
    private static string MissingVerb(ParseResult result, Command group, string program)
    {
        var verbs = group.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToArray();
        var typed = result.Tokens.FirstOrDefault(t => t.Type == TokenType.Argument)?.Value;
        if (group is RootCommand)
        {
            return typed is null
                ? $"missing command; run '{program} --help'"
                : typed.StartsWith('-')
                    ? $"unknown option '{typed}'" + Suggestion.For(OptionName(typed), OptionNames(group)) + $"; run '{program} --help'"
                    : $"unknown command '{typed}'" + Suggestion.For(typed, verbs) + $"; run '{program} --help'";
        }

        var list = string.Join(", ", verbs);
        return typed is null
            ? $"missing {group.Name} command ({list})"
            : $"unknown {group.Name} command '{typed}' ({list})" + Suggestion.For(typed, verbs);
    }

    private static string OptionName(string token) => token.StartsWith("--", StringComparison.Ordinal) && token.IndexOf('=') is > 2 and var eq ? token[..eq] : token;

    private static IEnumerable<string> OptionNames(Command command) =>
        command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith('-'));
}
