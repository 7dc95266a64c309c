namespace Orchestrator.Testing;

/// <summary>An external command exited with an unexpected code.</summary>
public sealed class ProcessFailedException : Exception
{
    // Enough to diagnose a failure without flooding the test log.
    private const int MaxOutputChars = 4000;

    public ProcessFailedException(ProcessResult result)
        : base(BuildMessage(result))
    {
        Result = result;
    }

    public ProcessResult Result { get; }

    private static string BuildMessage(ProcessResult result)
    {
        // qemu-io reports failed commands on stdout, so both streams are shown.
        return $"Command failed with exit code {result.ExitCode}: {result.CommandLine}{Environment.NewLine}"
            + $"--- stderr ---{Environment.NewLine}{Tail(result.StdErr)}{Environment.NewLine}"
            + $"--- stdout ---{Environment.NewLine}{Tail(result.StdOut)}";
    }

    private static string Tail(string text)
    {
        if (text.Length <= MaxOutputChars)
        {
            return text.Length == 0 ? "(empty)" : text;
        }

        return $"...({text.Length - MaxOutputChars} chars omitted)...{text[^MaxOutputChars..]}";
    }
}
