using System.Diagnostics;

namespace Orchestrator.Testing;

/// <summary>A QEMU process (qemu-nbd) holding an image with QEMU's image locks, as read from /proc/locks.</summary>
public static class QemuLocks
{
    /// <summary>Starts qemu-nbd serving <paramref name="image"/> writable on <paramref name="socket"/>, and returns once it holds its locks.</summary>
    public static async Task<Process> StartQemuNbdAsync(string image, string socket)
    {
        var qemuNbd = Process.Start(new ProcessStartInfo(QemuTools.QemuNbd, ["-k", socket, "-f", "qcow2", "--persistent", image])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            // qemu-nbd may listen before it has the image open.
            await WaitForWriterAsync(qemuNbd, image, TimeSpan.FromSeconds(60));
            return qemuNbd;
        }
        catch
        {
            qemuNbd.Kill();
            qemuNbd.Dispose();
            throw;
        }
    }

    // QEMU's lock byte for "write not shared" (200 + BLK_PERM_WRITE): a writer holds it.
    private const int WriteNotShared = 201;

    /// <summary>
    /// Returns once <paramref name="image"/> carries QEMU's write lock. Not found by trying an open: the probe's own
    /// lock would make the QEMU process's open fail if it came first. Fails at once, with its stderr, if the process exits.
    /// </summary>
    public static async Task WaitForWriterAsync(Process qemu, string image, TimeSpan timeout)
    {
        var inode = ProcessRunner.Run("stat", ["-c", "%i", image]).EnsureSuccess().StdOut.Trim();
        var deadline = DateTime.UtcNow + timeout;
        while (!File.ReadLines("/proc/locks").Any(l => l.Contains("OFDLCK", StringComparison.Ordinal)
            && l.Contains($":{inode} {WriteNotShared} ", StringComparison.Ordinal)))
        {
            if (qemu.HasExited)
            {
                throw new InvalidOperationException($"{qemu.StartInfo.FileName} exited ({qemu.ExitCode}) before it locked {image}: {qemu.StandardError.ReadToEnd()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{qemu.StartInfo.FileName} did not lock {image} within {timeout}");
            }

            await Task.Delay(50);
        }
    }
}
