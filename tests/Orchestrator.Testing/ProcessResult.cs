namespace Orchestrator.Testing;

/// <summary>Outcome of a finished external process; output is captured in full.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The command as it was run, quoted for a POSIX shell; used in failure messages.</summary>
    public string CommandLine { get; init; } = string.Empty;

    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws <see cref="ProcessFailedException"/> unless the exit code is 0.</summary>
    public ProcessResult EnsureSuccess() => EnsureExitCode(0);

    /// <summary>Throws <see cref="ProcessFailedException"/> unless the exit code is one of <paramref name="allowed"/>.</summary>
    public ProcessResult EnsureExitCode(params int[] allowed)
    {
        if (!allowed.Contains(ExitCode))
        {
            throw new ProcessFailedException(this);
        }

        return this;
    }
}
