using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests.Qmp;

/// <summary>qemu-storage-daemon serving a three-image chain with its QMP monitor on a Unix socket; killed on dispose.</summary>
internal sealed class QemuStorageDaemon : IDisposable
{
    private static readonly ExternalTool _tool = new("qemu-storage-daemon", "qemu-system-common");
    private readonly Process _process;
    private bool _disposed;

    private QemuStorageDaemon(Process process, string socketPath)
    {
        _process = process;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>Nodes named as a node names them: the active image after the disk (<paramref name="device"/>), the others by file name.</summary>
    public static QemuStorageDaemon Start(string socketPath, string device, string @base, string mid, string top)
    {
        var start = new ProcessStartInfo(_tool.Path) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var (name, file, backing) in new[] { (Path.GetFileName(@base), @base, (string?)null), (Path.GetFileName(mid), mid, Path.GetFileName(@base)), (device, top, Path.GetFileName(mid)) })
        {
            var node = new JsonObject
            {
                ["driver"] = "qcow2",
                ["node-name"] = name,
                ["file"] = new JsonObject { ["driver"] = "file", ["filename"] = file },
            };
            if (backing is not null)
            {
                node["backing"] = backing;
            }

            start.ArgumentList.Add("--blockdev");
            start.ArgumentList.Add(node.ToJsonString());
        }

        foreach (var arg in new[] { "--chardev", $"socket,path={socketPath},server=on,wait=off,id=monitor0", "--monitor", "chardev=monitor0" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("qemu-storage-daemon did not start");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return new QemuStorageDaemon(process, socketPath);
    }

    /// <summary>
    /// Stops the daemon as an operator would (SIGTERM): QEMU flushes its qcow2 metadata caches on the way out, which a
    /// SIGKILL would lose. Killed if it has not exited within 30 s.
    /// </summary>
    public void Stop()
    {
        if (_disposed || _process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            term.WaitForExit();
        }

        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("qemu-storage-daemon did not exit within 30 s of SIGTERM");
        }
    }

    /// <summary>Kills the daemon (its image locks go with it); safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
