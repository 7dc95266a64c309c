using System.CommandLine;
using System.CommandLine.Help;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2;

namespace Orchestrator.ImageCommands;

/// <summary>
/// Parses with System.CommandLine and runs the chosen verb, for both executables (`orchestrator` and `orchestrator-img`):
/// user errors become one line on stderr ("PROGRAM: message") and a non-zero exit, never a stack trace.
/// </summary>
public static class VerbRunner
{
    /// <summary>
    /// Runs <paramref name="args"/> against <paramref name="root"/>. <paramref name="otherErrors"/> handles the errors
    /// only the caller knows (it reports them itself and returns the exit code, or null to let the exception go).
    /// </summary>
    public static int Run(string program, RootCommand root, string[] args, Func<Exception, int?>? otherErrors = null)
    {
        try
        {
            return Dispatch(program, root, args);
        }
        catch (Exception e) when (e is UsageException or Qcow2Exception or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{program}: {e.Message}");
            return 1;
        }
        catch (Exception e) when (otherErrors is not null)
        {
            if (otherErrors(e) is { } code)
            {
                return code;
            }

            throw;
        }
    }

    private static int Dispatch(string program, RootCommand root, string[] args)
    {
        // Exceptions reach Run's handlers above (one line, no stack trace); Ctrl+C is the verbs' own business.
        var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(invocation);
            return 1;
        }

        if (args[0] == "help")
        {
            // "PROGRAM help [VERB...]" as "PROGRAM [VERB...] --help".
            args = [.. args.Skip(1), "--help"];
        }

        var result = root.Parse(args);
        var runsVerb = result.Action is null || result.Errors.Count > 0 || ReferenceEquals(result.Action, result.CommandResult.Command.Action);
        if (runsVerb && result.Action is not HelpAction && ParseProblems.Find(result, program) is { } problem)
        {
            throw new UsageException(problem);
        }

        return result.Invoke(invocation);
    }
}
