using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Nbd;

/// <summary>
/// One client: the handshake, then transmission, on its own task. Whatever the client sends, the connection ends by
/// closing its socket; a protocol violation or a vanished peer is logged and never reaches the server or the process.
/// </summary>
internal sealed partial class NbdConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly INbdExportProvider _exports;
    private readonly NbdServerOptions _options;
    private readonly NbdBufferPool _pool;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _lifetime = new();
    private volatile string? _exportName;
    private volatile bool _handshakeExpired;
    private bool _disposed;

    public NbdConnection(Socket socket, INbdExportProvider exports, NbdServerOptions options, NbdBufferPool pool, ILogger logger, string peer)
    {
        _socket = socket;
        _exports = exports;
        _options = options;
        _pool = pool;
        _logger = logger;
        Peer = peer;
    }

    /// <summary>Who connected (an address, or "unix socket").</summary>
    public string Peer { get; }

    /// <summary>The export this connection serves, once the handshake chose one.</summary>
    public string? ExportName => _exportName;

    /// <summary>Serves the client until it leaves, breaks the protocol, or is stopped.</summary>
    public async Task RunAsync()
    {
        using var stream = new NetworkStream(_socket, ownsSocket: false);
        using var channel = new NbdChannel(stream);
        try
        {
            var session = await NegotiateAsync(channel);
            if (session is null)
            {
                return;
            }

            var export = session.Export;
            _exportName = export.Name;
            LogAttached(_logger, Peer, export.Name, export.Size, session.Structured);
            await new NbdTransmission(channel, session, _options, _pool, _logger).RunAsync(_stop.Token, _abort.Token);
        }
        catch (OperationCanceledException) when (_handshakeExpired)
        {
            LogClosed(_logger, Peer, $"no transmission after {_options.HandshakeTimeout.TotalSeconds:0.#} s of handshake");
        }
        catch (NbdProtocolException e)
        {
            LogClosed(_logger, Peer, e.Message);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            LogGone(_logger, Peer, e.GetType().Name, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An export provider that failed (the engine did not answer, say) ends this connection only.
            LogFailed(_logger, Peer, e);
        }
        finally
        {
            Close();
        }
    }

    /// <summary>The handshake, cut when it has not reached transmission within <see cref="NbdServerOptions.HandshakeTimeout"/>.</summary>
    private async Task<NbdSession?> NegotiateAsync(NbdChannel channel)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        deadline.CancelAfter(_options.HandshakeTimeout);
        try
        {
            return await new NbdNegotiation(channel, _exports).RunAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !_stop.IsCancellationRequested)
        {
            _handshakeExpired = true;
            throw;
        }
    }

    /// <summary>Ends the connection after the request in progress (if any) has been answered. A no-op once it has ended.</summary>
    public void Stop()
    {
        // The server may stop a connection that is ending by itself at the same moment.
        lock (_lifetime)
        {
            if (!_disposed)
            {
                _stop.Cancel();
            }
        }
    }

    /// <summary>Ends the connection now, even in the middle of a request. A no-op once it has ended.</summary>
    public void Abort()
    {
        lock (_lifetime)
        {
            if (_disposed)
            {
                return;
            }

            _stop.Cancel();
            _abort.Cancel();
            Close();
        }
    }

    private void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }

        _socket.Close();
    }

    public void Dispose()
    {
        lock (_lifetime)
        {
            _disposed = true;
            _socket.Dispose();
            _stop.Dispose();
            _abort.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "nbd client {Peer} attached to export {Export} ({Size} bytes, structured replies {Structured})")]
    private static partial void LogAttached(ILogger logger, string peer, string export, long size, bool structured);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd client {Peer} disconnected: {Reason}")]
    private static partial void LogClosed(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "nbd client {Peer} disconnected after an unexpected failure")]
    private static partial void LogFailed(ILogger logger, string peer, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "nbd client {Peer} went away ({Kind}: {Message})")]
    private static partial void LogGone(ILogger logger, string peer, string kind, string message);
}
