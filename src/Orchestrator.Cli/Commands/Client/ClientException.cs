namespace Orchestrator.Cli.Commands.Client;

/// <summary>A client verb failed (the node refused, could not be reached, or the job failed): one line on stderr, exit 1.</summary>
public sealed class ClientException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
