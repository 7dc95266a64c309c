namespace Orchestrator.Cli.Commands.Client;

/// <summary>Ctrl+C for client verbs: cancels the wait (a job on the node goes on), exit code 130 like a shell.</summary>
public static class CliCancellation
{
    public const int ExitCode = 130;

    private static readonly Lazy<CancellationTokenSource> _source = new(() =>
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            source.Cancel();
        };
        return source;
    });

    public static CancellationToken Token => _source.Value.Token;
}
