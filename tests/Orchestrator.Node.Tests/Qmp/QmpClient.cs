using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Node.Tests.Qmp;

/// <summary>A minimal QMP client over a Unix socket: the greeting, commands with their replies, events kept in order.</summary>
internal sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;
    private int _waitedUpTo;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public JsonObject Greeting { get; private set; } = [];

    /// <summary>Everything received after the greeting, replies and events, in arrival order.</summary>
    public List<JsonObject> Transcript { get; } = [];

    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
                var client = new QmpClient(socket);
                client.Greeting = await client.ReadAsync();
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(100);
            }
        }
    }

    public async Task<JsonObject> ExecuteAsync(string command, JsonObject? arguments = null)
    {
        var message = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            message["arguments"] = arguments;
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(message.ToJsonString()));
        while (true)
        {
            var reply = await ReadAsync();
            Transcript.Add(reply);
            if (!reply.ContainsKey("event"))
            {
                return reply;
            }
        }
    }

    /// <summary>
    /// Waits for an event that matches, among those received since the last one waited for (an event can come before
    /// the reply of the command that caused it), else reading on; fails after <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForEventAsync(Func<JsonObject, bool> match, TimeSpan timeout)
    {
        for (var i = _waitedUpTo; i < Transcript.Count; i++)
        {
            if (Transcript[i].ContainsKey("event") && match(Transcript[i]))
            {
                _waitedUpTo = i + 1;
                return;
            }
        }

        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            JsonObject message;
            try
            {
                message = await ReadAsync(cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"no matching QMP event within {timeout.TotalSeconds} s; received:\n"
                    + string.Join('\n', Transcript.Select(m => m.ToJsonString())));
            }

            Transcript.Add(message);
            if (message.ContainsKey("event") && match(message))
            {
                _waitedUpTo = Transcript.Count;
                return;
            }
        }
    }

    private async Task<JsonObject> ReadAsync(CancellationToken cancel = default)
    {
        var line = await _reader.ReadLineAsync(cancel) ?? throw new IOException("the QMP server closed the connection");
        return JsonNode.Parse(line)!.AsObject();
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
    }
}
