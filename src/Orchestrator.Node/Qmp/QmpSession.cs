using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Engine;
using Orchestrator.Node.Api;

namespace Orchestrator.Node.Qmp;

/// <summary>
/// One QMP client: the greeting, capabilities negotiation, then commands answered in order and the node's job events
/// interleaved as they happen, exactly as qemu-storage-daemon's monitor does. Replies carry the command's "id".
/// </summary>
public sealed class QmpSession(Socket socket, QmpCommands commands, EventHub events)
{
    /// <summary>The QEMU version a node announces: the QMP dialect its commands and events follow.</summary>
    public static readonly JsonObject Greeting = new()
    {
        ["QMP"] = new JsonObject
        {
            ["version"] = new JsonObject
            {
                ["qemu"] = new JsonObject { ["micro"] = 0, ["minor"] = 2, ["major"] = 7 },
                ["package"] = "orchestrator",
            },
            ["capabilities"] = new JsonArray(),
        },
    };

    /// <summary>How long a reply waits for the events published before it to be written first.</summary>
    private static readonly TimeSpan _eventCatchUp = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _negotiated;
    private long _eventsWritten;

    public async Task RunAsync(CancellationToken stop)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Task? eventPump = null;
        try
        {
            await SendAsync(stream, Greeting, cancel.Token);
            var framer = new QmpFramer();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancel.Token)) > 0)
            {
                foreach (var text in framer.Feed(buffer.AsSpan(0, read)))
                {
                    var reply = await AnswerAsync(text, cancel.Token);
                    if (eventPump is not null)
                    {
                        await CatchUpWithEventsAsync(cancel.Token);
                    }

                    await SendAsync(stream, reply, cancel.Token);
                    if (_negotiated && eventPump is null)
                    {
                        eventPump = PumpEventsAsync(stream, cancel.Token);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            // The client went away, sent something absurd, or the node is stopping: the session simply ends.
        }
        finally
        {
            await cancel.CancelAsync();
            if (eventPump is not null)
            {
                await eventPump.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task<JsonObject> AnswerAsync(string text, CancellationToken cancel)
    {
        JsonNode? id = null;
        try
        {
            var request = Parse(text);
            id = request["id"]?.DeepClone();
            var command = request["execute"] is JsonValue value && value.GetValueKind() == JsonValueKind.String
                ? value.GetValue<string>()
                : throw QmpError.GenericError("QMP input lacks member 'execute'");
            var arguments = request["arguments"] switch
            {
                null => null,
                JsonObject o => o,
                _ => throw QmpError.GenericError("QMP input member 'arguments' must be an object"),
            };
            foreach (var (name, _) in request)
            {
                if (name is not ("execute" or "arguments" or "id"))
                {
                    throw QmpError.GenericError($"QMP input member '{name}' is unexpected");
                }
            }

            var result = await RunAsync(command, arguments, cancel);
            return WithId(new JsonObject { ["return"] = result }, id);
        }
        catch (QmpError e)
        {
            return WithId(new JsonObject { ["error"] = new JsonObject { ["class"] = e.Class, ["desc"] = e.Message } }, id);
        }
        catch (ApiException e)
        {
            return WithId(new JsonObject { ["error"] = new JsonObject { ["class"] = QmpError.Generic, ["desc"] = e.Message } }, id);
        }
    }

    private async Task<JsonNode> RunAsync(string command, JsonObject? arguments, CancellationToken cancel)
    {
        if (command == "qmp_capabilities")
        {
            if (_negotiated)
            {
                throw new QmpError(QmpError.CommandNotFound, "Capabilities negotiation is already complete, command ignored");
            }

            new QmpArguments(arguments, ["enable"]);
            _negotiated = true;
            return new JsonObject();
        }

        if (!_negotiated)
        {
            throw new QmpError(QmpError.CommandNotFound, "Expecting capabilities negotiation with 'qmp_capabilities'");
        }

        return await commands.ExecuteAsync(command, arguments, cancel);
    }

    private static JsonObject Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw QmpError.GenericError("QMP input must be a JSON object");
        }
        catch (JsonException)
        {
            throw QmpError.GenericError("JSON parse error, invalid token");
        }
    }

    private static JsonObject WithId(JsonObject reply, JsonNode? id)
    {
        if (id is not null)
        {
            reply["id"] = id;
        }

        return reply;
    }

    private async Task PumpEventsAsync(Stream stream, CancellationToken cancel)
    {
        try
        {
            // Runs synchronously up to the first await: the starting point is set before any reply can wait on it.
            var from = events.LastSequence;
            Interlocked.Exchange(ref _eventsWritten, from);
            await foreach (var e in events.Subscribe(from, cancel).ConfigureAwait(false))
            {
                await SendAsync(stream, JsonNode.Parse(QmpEventJson.Serialize(e))!, cancel);
                Interlocked.Exchange(ref _eventsWritten, e.Sequence);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// QEMU emits a command's events (a job's "created", "running") before the command's return, because they happen
    /// inside it; here the engine publishes them before it answers, so the reply waits until the event pump has
    /// written everything published so far. Scripts that expect QEMU's order then see it.
    /// </summary>
    private async Task CatchUpWithEventsAsync(CancellationToken cancel)
    {
        var target = events.LastSequence;
        var deadline = DateTime.UtcNow + _eventCatchUp;
        while (Interlocked.Read(ref _eventsWritten) < target && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1, cancel);
        }
    }

    private async Task SendAsync(Stream stream, JsonNode message, CancellationToken cancel)
    {
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\r\n");
        await _writeLock.WaitAsync(cancel);
        try
        {
            await stream.WriteAsync(bytes, cancel);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
