using System.Globalization;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Domain;
using Orchestrator.Nbd;

namespace Orchestrator.Node.Exports;

/// <summary>
/// Serves every registered disk over NBD while the node runs: always on the data folder's Unix socket (0600, so only
/// this user), and on TCP when the operator asked for it. Started after the engine and stopped before it, so that
/// the requests in progress finish while the disks are still open.
/// </summary>
public sealed partial class NbdService(NodeOptions options, DiskExports exports, ILoggerFactory loggers) : IHostedService
{
    private NbdServer? _server;
    private string? _tcpAuthority;

    /// <summary>nbd+unix:///ID?socket=/abs/data/nbd.sock: what qemu-io, qemu and libnbd tools take.</summary>
    public string UnixUri(string disk) => string.Create(CultureInfo.InvariantCulture, $"nbd+unix:///{Uri.EscapeDataString(disk)}?socket={options.NbdSocketPath}");

    /// <summary>nbd://HOST:PORT/ID when TCP is served, otherwise null.</summary>
    public string? TcpUri(string disk) => _tcpAuthority is null ? null : $"nbd://{_tcpAuthority}/{Uri.EscapeDataString(disk)}";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger<NbdService>();
        _server = new NbdServer(exports, loggers.CreateLogger<NbdServer>(), new NbdServerOptions { HandshakeTimeout = options.NbdHandshakeTimeout });
        _server.ListenUnix(options.NbdSocketPath);
        if (options.NbdTcp is { } tcp)
        {
            var address = tcp.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(tcp.Host);
            var bound = _server.ListenTcp(new IPEndPoint(address, tcp.Port));
            _tcpAuthority = tcp.ClientAuthority(bound.Port);
            if (!tcp.IsLoopback)
            {
                LogRemote(logger, _tcpAuthority);
            }
        }

        LogListening(logger, options.NbdSocketPath, _tcpAuthority ?? "off");
        return Task.CompletedTask;
    }

    /// <summary>Bytes the NBD server holds in buffers now (requests in flight plus the few kept for reuse).</summary>
    public long BufferBytes => _server?.Buffers.BytesMapped ?? 0;

    /// <summary>Ends the NBD connections of a disk that was unregistered.</summary>
    public Task CloseConnectionsAsync(DiskId disk) => _server?.CloseExportAsync(disk.Value) ?? Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "nbd exports on unix socket {SocketPath}; tcp {Tcp}")]
    private static partial void LogListening(ILogger logger, string socketPath, string tcp);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd exports are served on {Endpoint}, beyond this machine, without authentication (--nbd-allow-remote)")]
    private static partial void LogRemote(ILogger logger, string endpoint);
}
