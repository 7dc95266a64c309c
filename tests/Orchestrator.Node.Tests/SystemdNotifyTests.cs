using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The node as the systemd unit runs it (Type=notify): started by a process named "systemd" (the parent
/// Microsoft.Extensions.Hosting.Systemd looks for) with NOTIFY_SOCKET set, it sends READY=1 only once its HTTP API,
/// NBD and QMP sockets are up, writes its logs in journald's form (a syslog priority before each line), and sends
/// STOPPING=1 on SIGTERM before it exits cleanly. The socket is a real datagram socket, as systemd's is.
/// </summary>
public sealed class SystemdNotifyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Under_systemd_the_node_notifies_ready_once_it_serves_and_stopping_on_sigterm()
    {
        using var folder = new TempDirectory("systemd");
        var data = Path.Combine(folder.Path, "data");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var notifyPath = Path.Combine(folder.Path, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        // The parent is bash under the name "systemd" (a symbolic link: /proc/PID/comm is the name it was started
        // by); the command after the node keeps bash from replacing itself with it.
        var parent = Path.Combine(folder.Path, "systemd");
        File.CreateSymbolicLink(parent, "/bin/bash");
        var port = NodeProcess.FreePort();
        var start = new ProcessStartInfo(parent)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder.Path,
        };
        foreach (var arg in new[] { "-c", "\"$0\" \"$@\"; exit $?", Orchestrator.Dotnet, Orchestrator.Dll, "serve", "--data", data,
                     "--http", $"127.0.0.1:{port}", "--storage-root", images })
        {
            start.ArgumentList.Add(arg);
        }

        Orchestrator.UseCleanEnvironment(start, folder.Path);

        start.Environment["NOTIFY_SOCKET"] = notifyPath;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the node under 'systemd'");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("READY=1", await ReceiveAsync(notify, process));

            // Ready means serving: the API answers and the NBD and QMP sockets are there.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
            Assert.True(File.Exists(Path.Combine(data, NodePaths.NbdSocketFile)), "READY=1 came before the NBD socket existed");
            Assert.True(File.Exists(Path.Combine(data, "qmp.sock")), "READY=1 came before the QMP socket existed");

            var node = ChildOf(process.Id);
            using (var term = Process.Start("kill", ["-TERM", node.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            Assert.Equal("STOPPING=1", await ReceiveAsync(notify, process));
            using var wait = new CancellationTokenSource(_timeout);
            await process.WaitForExitAsync(wait.Token);
            var (outText, errText) = (await stdout, await stderr);
            output.WriteLine(outText + errText);
            Assert.True(process.ExitCode == 0, $"the node exited {process.ExitCode} after SIGTERM:\n{outText}{errText}");

            // journald's form: each line starts with its syslog priority, which journald turns into the entry's level.
            var lines = outText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(lines);
            Assert.All(lines, line => Assert.Matches(@"^<[0-7]>\S", line));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>The next notification datagram; fails if the node exits or nothing comes within the timeout.</summary>
    private async Task<string> ReceiveAsync(Socket notify, Process process)
    {
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(_timeout);
        var receive = notify.ReceiveAsync(buffer, SocketFlags.None, cancel.Token).AsTask();
        while (!receive.IsCompleted)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the node exited ({process.ExitCode}) before notifying systemd");
            }

            await Task.WhenAny(receive, Task.Delay(200));
        }

        var message = Encoding.UTF8.GetString(buffer, 0, await receive).Trim();
        output.WriteLine($"notify: {message}");
        return message;
    }

    /// <summary>The one child of <paramref name="pid"/> (the node under its "systemd" parent).</summary>
    private static int ChildOf(int pid)
    {
        var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(Assert.Single(children), CultureInfo.InvariantCulture);
    }
}
