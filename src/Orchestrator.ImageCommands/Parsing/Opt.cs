using System.CommandLine;

namespace Orchestrator.ImageCommands.Parsing;

/// <summary>
/// The two kinds of option the CLI has always had, declared on System.CommandLine. A value option may be given more than
/// once and takes one token per occurrence (<c>-o a -o b</c>; <c>-o a b</c> leaves b positional), as the hand-written
/// parser did: <see cref="CommandLine.Value(string)"/> reads the last, <see cref="CommandLine.Values"/> all of them.
/// A switch takes no value.
/// </summary>
public static class Opt
{
    public static Option<string[]> Value(string name, string helpName, string description, params string[] aliases)
    {
        var option = new Option<string[]>(name, aliases)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        return option;
    }

    /// <summary>A value option whose values are one of <paramref name="choices"/> (offered by shell completion; checked by the verb, with its own message).</summary>
    public static Option<string[]> Choice(string name, string description, string[] choices, params string[] aliases)
    {
        var option = Value(name, string.Join('|', choices), description, aliases);
        option.CompletionSources.Add(choices);
        return option;
    }

    public static Option<bool> Switch(string name, string description, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    /// <summary>An optional positional argument: a missing one is reported by the verb in its own words ("missing image file name").</summary>
    public static Argument<string> Positional(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrOne,
    };

    /// <summary>Runs <paramref name="verb"/> with the parsed arguments when this command is chosen.</summary>
    public static Command Runs(this Command command, Func<CommandLine, int> verb)
    {
        command.SetAction(result => verb(new CommandLine(result)));
        return command;
    }

    /// <summary>Adds options and arguments to a command, and returns it.</summary>
    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Command sub:
                    command.Subcommands.Add(sub);
                    break;
            }
        }

        return command;
    }
}
