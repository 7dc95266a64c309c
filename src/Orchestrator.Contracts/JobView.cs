using System.Text.Json.Serialization;

namespace Orchestrator.Contracts;

/// <summary>A query-block-jobs entry with QEMU's field names, plus the disk it runs on.</summary>
public sealed record JobView
{
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("device")]
    public required string Device { get; init; }

    [JsonPropertyName("disk")]
    public required string Disk { get; init; }

    [JsonPropertyName("len")]
    public long Len { get; init; }

    [JsonPropertyName("offset")]
    public long Offset { get; init; }

    [JsonPropertyName("busy")]
    public bool Busy { get; init; }

    [JsonPropertyName("paused")]
    public bool Paused { get; init; }

    [JsonPropertyName("speed")]
    public long Speed { get; init; }

    [JsonPropertyName("io-status")]
    public required string IoStatus { get; init; }

    [JsonPropertyName("ready")]
    public bool Ready { get; init; }

    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("auto-finalize")]
    public bool AutoFinalize { get; init; }

    [JsonPropertyName("auto-dismiss")]
    public bool AutoDismiss { get; init; }

    /// <summary>
    /// Ours, not QEMU's: data written into the top so far. Offset counts address space scanned, ranges the top
    /// already held included, so this is what a throughput (and a speed limit) is measured against.
    /// </summary>
    [JsonPropertyName("bytes-copied")]
    public long BytesCopied { get; init; }

    /// <summary>Present only when the job failed, or "Operation canceled" once a cancelled job concluded, as in QEMU.</summary>
    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>The node (cluster node name) the job's disk runs on; ours, not QEMU's.</summary>
    [JsonPropertyName("host")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Host { get; init; }
}
