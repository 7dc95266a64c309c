using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Orchestrator.Testing;

/// <summary>Runs an external program to completion, capturing stdout and stderr.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    // A daemonising grandchild can keep our pipes open after the child exits;
    // wait this long for EOF, then return what was captured.
    private static readonly TimeSpan _drainGrace = TimeSpan.FromSeconds(5);

    /// <summary>Runs <paramref name="fileName"/> and blocks until it exits or the timeout passes.</summary>
    /// <exception cref="TimeoutException">The process tree was killed after <paramref name="timeout"/>.</exception>
    public static ProcessResult Run(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var args = arguments.ToArray();
        var limit = timeout ?? DefaultTimeout;
        var commandLine = FormatCommandLine(fileName, args);
        using var process = Start(fileName, args, workingDirectory, environment, commandLine);
        var stdout = new OutputCollector(process.StandardOutput);
        var stderr = new OutputCollector(process.StandardError);

        if (!process.WaitForExit(limit))
        {
            KillTree(process);
            throw TimedOut(commandLine, limit, stdout, stderr);
        }

        Task.WaitAll([stdout.Completion, stderr.Completion], _drainGrace);
        return new ProcessResult(process.ExitCode, stdout.Text, stderr.Text) { CommandLine = commandLine };
    }

    /// <summary>Async variant of <see cref="Run"/>; cancelling also kills the process tree.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var args = arguments.ToArray();
        var limit = timeout ?? DefaultTimeout;
        var commandLine = FormatCommandLine(fileName, args);
        using var process = Start(fileName, args, workingDirectory, environment, commandLine);
        var stdout = new OutputCollector(process.StandardOutput);
        var stderr = new OutputCollector(process.StandardError);

        using var timeoutCts = new CancellationTokenSource(limit);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutCts.Token, cancellationToken);
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw TimedOut(commandLine, limit, stdout, stderr);
        }

        await Task.WhenAny(
            Task.WhenAll(stdout.Completion, stderr.Completion),
            Task.Delay(_drainGrace, CancellationToken.None)).ConfigureAwait(false);
        return new ProcessResult(process.ExitCode, stdout.Text, stderr.Text) { CommandLine = commandLine };
    }

    /// <summary>Renders a command for humans, quoting arguments the way a POSIX shell would need.</summary>
    public static string FormatCommandLine(string fileName, IEnumerable<string> arguments)
    {
        return string.Join(' ', new[] { fileName }.Concat(arguments).Select(Quote));
    }

    private static string Quote(string arg)
    {
        if (arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)))
        {
            return arg;
        }

        return "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private static Process Start(
        string fileName,
        string[] args,
        string? workingDirectory,
        IReadOnlyDictionary<string, string?>? environment,
        string commandLine)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            var where = workingDirectory is null ? string.Empty : $" (in {workingDirectory})";
            throw new InvalidOperationException($"Could not start {commandLine}{where}: {e.Message}", e);
        }

        // Nothing is ever fed to stdin; closing it stops tools that would prompt from hanging.
        process.StandardInput.Close();
        return process;
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(_drainGrace);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill.
        }
    }

    private static TimeoutException TimedOut(string commandLine, TimeSpan limit, OutputCollector stdout, OutputCollector stderr)
    {
        return new TimeoutException(
            $"Command timed out after {limit.TotalSeconds:0.###} s and its process tree was killed: {commandLine}"
            + $"{Environment.NewLine}--- stderr so far ---{Environment.NewLine}{stderr.Text}"
            + $"{Environment.NewLine}--- stdout so far ---{Environment.NewLine}{stdout.Text}");
    }

    // Reads a stream in chunks so partial output is available after a timeout.
    private sealed class OutputCollector
    {
        private readonly StringBuilder _buffer = new();
        private readonly Lock _lock = new();

        public OutputCollector(StreamReader reader)
        {
            Completion = Task.Run(() => PumpAsync(reader));
        }

        public Task Completion { get; }

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _buffer.ToString();
                }
            }
        }

        private async Task PumpAsync(StreamReader reader)
        {
            var chunk = new char[8192];
            try
            {
                int read;
                while ((read = await reader.ReadAsync(chunk.AsMemory()).ConfigureAwait(false)) > 0)
                {
                    lock (_lock)
                    {
                        _buffer.Append(chunk, 0, read);
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The process was killed or disposed mid-read; keep what we have.
            }
        }
    }
}
