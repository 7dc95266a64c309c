using System.CommandLine;
using System.CommandLine.Parsing;

namespace Orchestrator.ImageCommands;

/// <summary>
/// One verb's parsed arguments, read as the verbs always have: <see cref="Value(string)"/> by option name or alias (the
/// last value when given twice), <see cref="Values"/> for repeatable options such as --storage-root, <see cref="Has"/>
/// for switches, and the positional arguments in order. System.CommandLine does the parsing; unknown options and
/// surplus arguments are refused before a verb runs (<see cref="Parsing.ParseProblems"/>).
/// </summary>
public sealed class CommandLine
{
    private readonly ParseResult _result;
    private readonly Command _command;
    private readonly List<string> _positional = [];

    public CommandLine(ParseResult result)
    {
        _result = result;
        _command = result.CommandResult.Command;
        foreach (var argument in _command.Arguments)
        {
            if (result.GetResult(argument) is { } found)
            {
                _positional.AddRange(found.Tokens.Select(t => t.Value));
            }
        }
    }

    public IReadOnlyList<string> Positional => _positional;

    public string? Value(string name) => Values(name) is { Count: > 0 } values ? values[^1] : null;

    public string? Value(string name, string alias) => Value(name) ?? Value(alias);

    /// <summary>Every value given for a repeatable option, in order.</summary>
    public IReadOnlyList<string> Values(string name) => Find(name) is Option<string[]> option && _result.GetResult(option) is { } found
        ? found.Tokens.Select(t => t.Value).ToArray()
        : [];

    public bool Has(string name) => Find(name) is Option<bool> option && _result.GetValue(option);

    public string RequirePositional(int index, string what) =>
        index < _positional.Count ? _positional[index] : throw new UsageException($"missing {what}");

    /// <summary>The verb's declared arguments already bound how many it takes; this stays as the verbs' own statement of it.</summary>
    public void LimitPositional(int max)
    {
        if (_positional.Count > max)
        {
            throw new UsageException($"unexpected argument '{_positional[max]}'");
        }
    }

    private Option? Find(string name) => _command.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));
}
