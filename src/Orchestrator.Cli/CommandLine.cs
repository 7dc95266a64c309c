namespace Orchestrator.Cli;

/// <summary>
/// A small qemu-img style parser: options that take a value (-f qcow2, --base B, --output=json), switches (-u),
/// and positional arguments. Unknown options are refused by name. A value option given twice keeps every value
/// (<see cref="Values"/>, for repeatable options such as --storage-root); <see cref="Value(string)"/> returns the last.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = [];
    private readonly HashSet<string> _switches = [];
    private readonly List<string> _positional = [];

    public CommandLine(IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> switchOptions)
    {
        using var e = args.GetEnumerator();
        var onlyPositional = false;
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (onlyPositional || !arg.StartsWith('-') || arg == "-")
            {
                _positional.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                onlyPositional = true;
                continue;
            }

            var name = arg;
            string? inlineValue = null;
            var eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            if (valueOptions.Contains(name))
            {
                if (inlineValue is null && !e.MoveNext())
                {
                    throw new UsageException($"option '{name}' needs a value");
                }

                if (!_values.TryGetValue(name, out var list))
                {
                    _values[name] = list = [];
                }

                list.Add(inlineValue ?? e.Current);
            }
            else if (switchOptions.Contains(name) && inlineValue is null)
            {
                _switches.Add(name);
            }
            else
            {
                throw new UsageException($"unknown option '{arg}'");
            }
        }
    }

    public IReadOnlyList<string> Positional => _positional;

    public string? Value(string name) => _values.GetValueOrDefault(name)?[^1];

    public string? Value(string name, string alias) => Value(name) ?? Value(alias);

    /// <summary>Every value given for a repeatable option, in order.</summary>
    public IReadOnlyList<string> Values(string name) => _values.GetValueOrDefault(name) ?? [];

    public bool Has(string name) => _switches.Contains(name);

    public string RequirePositional(int index, string what) =>
        index < _positional.Count ? _positional[index] : throw new UsageException($"missing {what}");

    public void LimitPositional(int max)
    {
        if (_positional.Count > max)
        {
            throw new UsageException($"unexpected argument '{_positional[max]}'");
        }
    }
}
