using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Engine;

namespace Orchestrator.Node.Qmp;

/// <summary>
/// The node's QMP monitor on DATA/qmp.sock (mode 0600: only the node's user, like the NBD socket), so that scripts
/// and tools written for qemu-storage-daemon drive a node unchanged.
/// </summary>
public sealed partial class QmpService(NodeOptions options, QmpCommands commands, EventHub events, ILogger<QmpService> logger) : BackgroundService
{
    public const string SocketFile = "qmp.sock";

    public string SocketPath => Path.Combine(options.DataDirectory, SocketFile);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The data folder is locked by this node, so a socket file left there is a previous run's.
        File.Delete(SocketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        listener.Listen(16);
        LogListening(logger, SocketPath);
        var sessions = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(stoppingToken);
                sessions.RemoveAll(s => s.IsCompleted);
                sessions.Add(Task.Run(() => new QmpSession(client, commands, events).RunAsync(stoppingToken), stoppingToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await Task.WhenAll(sessions).ContinueWith(_ => { }, TaskScheduler.Default);
            File.Delete(SocketPath);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "qmp monitor on unix socket {SocketPath}")]
    private static partial void LogListening(ILogger logger, string socketPath);
}
