using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A guest writing 4 KiB blocks at random at queue depth 16 through a disk's NBD export, with python3-libnbd
/// (Guests/qd16_writer.py): it flushes after every 64 acknowledged writes while writing on, and logs every write it
/// sends, every acknowledgement and every flush in the order it saw them. It runs until its stop file appears (then
/// drains, flushes and exits 0) or its connection dies (exit 3).
/// </summary>
internal static class Qd16Guest
{
    public const int BlockSize = 4096;

    private static readonly Lazy<string?> _python = new(FindPython);

    /// <summary>A python3 that imports libnbd's module; Debian's /usr/bin/python3 first (a pyenv one on PATH lacks it).</summary>
    public static string Python => _python.Value ?? throw new ToolMissingException("python3 with libnbd's 'nbd' module", "python3-libnbd");

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Guests", "qd16_writer.py");

    public static Task<ProcessResult> RunAsync(string uri, long size, int seed, string stopFile) =>
        ProcessRunner.RunAsync(Python, [Script, uri, size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            seed.ToString(System.Globalization.CultureInfo.InvariantCulture), stopFile], timeout: TimeSpan.FromMinutes(2));

    /// <summary>Waits until the guest has had 16 writes acknowledged (it creates STOP.ready), or ended, or the time is up.</summary>
    public static async Task<bool> WaitWritingAsync(string stopFile, Task guest, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(stopFile + ".ready"))
        {
            if (guest.IsCompleted || clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    private static string? FindPython()
    {
        string?[] candidates = ["/usr/bin/python3", ExternalTool.FindOnPath("python3")];
        foreach (var python in candidates.Where(p => p is not null && File.Exists(p)).Distinct())
        {
            if (ProcessRunner.Run(python!, ["-c", "import nbd"], timeout: TimeSpan.FromSeconds(30)).ExitCode == 0)
            {
                return python;
            }
        }

        return null;
    }
}
