using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Orchestrator.Nbd;

/// <summary>
/// Serves the exports of an <see cref="INbdExportProvider"/> on Unix and TCP sockets, one task per connection.
/// NBD has no authentication: whoever can connect can read and write every export, so where it listens is the
/// access control (a 0600 Unix socket; TCP only where the operator chose it).
/// </summary>
public sealed partial class NbdServer : IAsyncDisposable
{
    /// <summary>How long a stopping connection may take to finish its request before it is cut.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Connections the kernel queues before we accept them; a burst of clients must not be refused.</summary>
    private const int Backlog = 1024;

    private readonly INbdExportProvider _exports;
    private readonly NbdServerOptions _options;
    private readonly NbdBufferPool _pool;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<(Socket Listener, Task Loop)> _listeners = [];
    private readonly ConcurrentDictionary<NbdConnection, Task> _connections = new();
    private readonly List<string> _unixPaths = [];
    private int _disposed;

    public NbdServer(INbdExportProvider exports, ILogger<NbdServer>? logger = null, NbdServerOptions? options = null)
    {
        _exports = exports;
        _options = options ?? new NbdServerOptions();
        _pool = new NbdBufferPool(_options);
        _logger = logger ?? NullLogger<NbdServer>.Instance;
    }

    /// <summary>The buffers of every connection: what NBD costs in memory right now.</summary>
    public NbdBufferPool Buffers => _pool;

    /// <summary>Connections open right now (in the handshake or in transmission).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Listens on a Unix socket at <paramref name="path"/>, mode 0600. A socket file nobody answers on (left by a
    /// crash) is replaced; one a live server answers on is not.
    /// </summary>
    /// <exception cref="IOException">Another server answers on the path, or something that is not a socket is there.</exception>
    public void ListenUnix(string path)
    {
        RemoveStaleSocket(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            listener.Listen(Backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _unixPaths.Add(path);
        Start(listener, "unix socket");
    }

    /// <summary>Listens on TCP; returns the bound endpoint (port 0 picks a free port).</summary>
    public IPEndPoint ListenTcp(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endpoint);
            listener.Listen(Backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        Start(listener, null);
        return (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>
    /// Ends every connection attached to <paramref name="exportName"/>: each finishes the request it is carrying out,
    /// then its socket is closed. Returns when they are all gone (cut after <see cref="DrainTimeout"/>).
    /// </summary>
    public async Task CloseExportAsync(string exportName)
    {
        var attached = _connections.Where(c => c.Key.ExportName == exportName).ToList();
        foreach (var (connection, _) in attached)
        {
            connection.Stop();
        }

        await DrainAsync(attached);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _shutdown.CancelAsync();
        foreach (var (listener, _) in _listeners)
        {
            listener.Dispose();
        }

        await Task.WhenAll(_listeners.Select(l => l.Loop));
        // ToArray is the dictionary's own atomic snapshot; LINQ's ToList reads Count, then copies, and a connection
        // ending in between leaves empty entries.
        var open = _connections.ToArray();
        foreach (var (connection, _) in open)
        {
            connection.Stop();
        }

        await DrainAsync(open);
        foreach (var path in _unixPaths)
        {
            File.Delete(path);
        }

        _shutdown.Dispose();
        _pool.Dispose();
    }

    private async Task DrainAsync(IReadOnlyCollection<KeyValuePair<NbdConnection, Task>> connections)
    {
        var all = Task.WhenAll(connections.Select(c => c.Value));
        if (await Task.WhenAny(all, Task.Delay(DrainTimeout)) != all)
        {
            foreach (var (connection, _) in connections)
            {
                connection.Abort();
            }

            await all;
        }
    }

    private void Start(Socket listener, string? peerName)
    {
        var loop = Task.Run(() => AcceptLoopAsync(listener, peerName));
        _listeners.Add((listener, loop));
    }

    private async Task AcceptLoopAsync(Socket listener, string? peerName)
    {
        while (!_shutdown.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_shutdown.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && _shutdown.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors, say: keep serving the connections there are, and try again shortly.
                LogAcceptFailed(_logger, e.Message);
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            if (socket.ProtocolType == ProtocolType.Tcp)
            {
                // Replies are written whole; waiting to coalesce them would only add latency.
                socket.NoDelay = true;
            }

            var connection = new NbdConnection(socket, _exports, _options, _pool, _logger, peerName ?? socket.RemoteEndPoint?.ToString() ?? "tcp");
            // Registered before it starts, so that a connection that ends at once is removed after it was added.
            var run = new Task<Task>(() => ServeAsync(connection));
            _connections[connection] = run.Unwrap();
            run.Start(TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(NbdConnection connection)
    {
        await connection.RunAsync();
        _connections.TryRemove(connection, out _);
        connection.Dispose();
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nobody listens: the file is what a killed server left behind.
            File.Delete(path);
            return;
        }

        throw new IOException($"another NBD server is listening on '{path}'");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd server could not accept a connection: {Message}")]
    private static partial void LogAcceptFailed(ILogger logger, string message);
}
