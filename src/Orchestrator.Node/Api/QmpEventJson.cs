using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Node.Api;

/// <summary>
/// An event as a QMP client receives it: <c>{"event": NAME, "data": {...}, "timestamp": {"seconds", "microseconds"}}</c>,
/// with QEMU's data field names (id, status, type, device, len, offset, speed, error, operation, action).
/// </summary>
public static class QmpEventJson
{
    private static readonly JsonSerializerOptions _options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly string[] _envelopeFields = ["event", "timestamp", "sequence"];

    /// <param name="host">The host the event happened on, as a top-level field (the fleet's events); none when null.</param>
    public static string Serialize(BlockJobEvent e, string? host = null)
    {
        // Every record's own properties are QMP's data fields once camelCased; the base record's are the envelope.
        var data = JsonSerializer.SerializeToNode(e, e.GetType(), _options)!.AsObject();
        foreach (var field in _envelopeFields)
        {
            data.Remove(field);
        }

        var micros = e.Timestamp.ToUnixTimeMilliseconds() * 1000 + (e.Timestamp.Ticks / 10 % 1000);
        var envelope = new JsonObject
        {
            ["event"] = e.Event,
            ["data"] = data,
            ["timestamp"] = new JsonObject { ["seconds"] = micros / 1_000_000, ["microseconds"] = micros % 1_000_000 },
        };
        if (host is not null)
        {
            envelope["host"] = host;
        }

        return envelope.ToJsonString();
    }
}
