using System.Diagnostics;
using System.Text;

namespace Orchestrator.Crash.Tests;

/// <summary>A child process that the test kills with SIGKILL at a moment of its choosing, capturing its output.</summary>
internal sealed class KillableProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyLine;

    private KillableProcess(Process process, string readyLine)
    {
        _process = process;
        _readyLine = readyLine;
    }

    public string CommandLine { get; private init; } = string.Empty;

    public string StdOut
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StdErr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="readyLine"/> is the stdout line <see cref="WaitReady"/> waits for.</summary>
    public static KillableProcess Start(string fileName, IEnumerable<string> args, string workingDirectory, string readyLine = "ready")
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory,
        };
        var argList = args.ToList();
        argList.ForEach(info.ArgumentList.Add);
        var process = new Process { StartInfo = info };
        var child = new KillableProcess(process, readyLine)
        {
            CommandLine = Testing.ProcessRunner.FormatCommandLine(fileName, argList),
        };
        process.OutputDataReceived += (_, e) => child.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnStderr(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>True once the ready line was printed; false if the process exited or the timeout passed first.</summary>
    public bool WaitReady(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        Task.WaitAny([_ready.Task, exited], timeout);
        return _ready.Task.IsCompleted;
    }

    /// <summary>SIGKILLs the whole tree (Process.Kill sends SIGKILL on Linux); false if it had already exited by itself.</summary>
    public bool Kill()
    {
        var wasRunning = !_process.HasExited;
        if (wasRunning)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
                wasRunning = false;
            }
        }

        _process.WaitForExit();
        return wasRunning;
    }

    /// <summary>Waits for a normal exit; kills it and throws after <paramref name="timeout"/>.</summary>
    public void WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"{CommandLine} did not finish within {timeout.TotalSeconds:0} s; stderr: {StdErr}");
        }

        _process.WaitForExit();
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _stdout.AppendLine(line);
        }

        if (line == _readyLine)
        {
            _ready.TrySetResult();
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _stderr.AppendLine(line);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
