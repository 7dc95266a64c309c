using Orchestrator.Cli;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Cli.Parsing;
using Orchestrator.ImageCommands;

return Entry.Run(args);

namespace Orchestrator.Cli
{
    /// <summary>
    /// Runs the CLI's verb tree through the shared <see cref="VerbRunner"/> (also used by `orchestrator-img`); on top of its
    /// errors, the client verbs' own (a node's answer, Ctrl+C) get their exit codes here.
    /// </summary>
    public static class Entry
    {
        public const string Program = "orchestrator";

        public static int Run(string[] args)
        {
            try
            {
                return VerbRunner.Run(Program, CommandTree.Build(), args, ClientError);
            }
            finally
            {
                AssemblyTrace.WriteIfAsked();
            }
        }

        private static int? ClientError(Exception e)
        {
            switch (e)
            {
                case ClientException client:
                    Console.Error.WriteLine($"{Program}: {client.Message}");
                    return client.ExitCode;
                case OperationCanceledException when CliCancellation.Token.IsCancellationRequested:
                    return CliCancellation.ExitCode;
                default:
                    return null;
            }
        }
    }
}
