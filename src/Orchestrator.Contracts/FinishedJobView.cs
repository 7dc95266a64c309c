using System.Text.Json.Serialization;

namespace Orchestrator.Contracts;

/// <summary>
/// A job that has ended (GET /job-history, <c>jobs --all</c>): <c>outcome</c> is completed, failed or cancelled;
/// <c>offset</c> is how far it got of <c>len</c>; <c>started</c> is null when the job began before the oldest event the
/// node keeps; <c>sequence</c> is the id of its end event on its host's /events; <c>host</c> is the node it ran on (the
/// history covers every host of the fleet).
/// </summary>
public sealed record FinishedJobView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("started")] DateTimeOffset? Started,
    [property: JsonPropertyName("ended")] DateTimeOffset Ended,
    [property: JsonPropertyName("len")] long Len,
    [property: JsonPropertyName("offset")] long Offset,
    [property: JsonPropertyName("speed")] long Speed,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("sequence")] long Sequence)
{
    [JsonPropertyName("host")]
    public string? Host { get; init; }
}
