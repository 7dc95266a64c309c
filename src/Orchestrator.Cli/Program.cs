using System.CommandLine;
using System.CommandLine.Help;
using Orchestrator.Cli;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Cli.Parsing;
using Orchestrator.Qcow2;

return Entry.Run(args);

namespace Orchestrator.Cli
{
    /// <summary>Parses with System.CommandLine and runs the verb; user errors become one line on stderr and a non-zero exit, never a stack trace.</summary>
    public static class Entry
    {
        public static int Run(string[] args)
        {
            try
            {
                return Dispatch(args);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            catch (Qcow2Exception e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            catch (ClientException e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return e.ExitCode;
            }
            catch (OperationCanceledException) when (CliCancellation.Token.IsCancellationRequested)
            {
                return CliCancellation.ExitCode;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            finally
            {
                AssemblyTrace.WriteIfAsked();
            }
        }

        private static int Dispatch(string[] args)
        {
            var root = CommandTree.Build();

            // Exceptions reach Run's handlers above (one line, no stack trace); Ctrl+C is the verbs' own business.
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            if (args.Length == 0)
            {
                root.Parse(["--help"]).Invoke(invocation);
                return 1;
            }

            if (args[0] == "help")
            {
                // "orchestrator help [VERB...]" as "orchestrator [VERB...] --help".
                args = [.. args.Skip(1), "--help"];
            }

            var result = root.Parse(args);
            var runsVerb = result.Action is null || result.Errors.Count > 0 || ReferenceEquals(result.Action, result.CommandResult.Command.Action);
            if (runsVerb && result.Action is not HelpAction && ParseProblems.Find(result) is { } problem)
            {
                throw new UsageException(problem);
            }

            return result.Invoke(invocation);
        }
    }
}
