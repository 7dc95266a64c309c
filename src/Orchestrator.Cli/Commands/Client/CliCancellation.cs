namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// Ctrl+C (SIGINT) for client verbs: the first one cancels <see cref="Token"/> and the process goes on, so that the
/// verb can end cleanly (a --wait cancels its job, as virsh does; --detach only stops waiting); a second one ends the
/// process at once. Exit code 130, like a shell.
/// </summary>
public static class CliCancellation
{
    public const int ExitCode = 130;

    private static readonly Lazy<CancellationTokenSource> _source = new(() =>
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (source.IsCancellationRequested)
            {
                return;
            }

            e.Cancel = true;
            source.Cancel();
        };
        return source;
    });

    public static CancellationToken Token => _source.Value.Token;
}
