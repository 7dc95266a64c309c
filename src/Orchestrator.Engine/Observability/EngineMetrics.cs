using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Engine.Observability;

/// <summary>
/// The engine's own instruments (meter <see cref="MeterName"/>): what only the engine sees as it happens —
/// checkpoints persisted, the guest's requests and their latency, and job errors by kind. A node exports them with
/// OpenTelemetry; without a listener every call costs a branch.
/// </summary>
public static class EngineMetrics
{
    public const string MeterName = "Orchestrator.Engine";

    /// <summary>Spans request -> actor -> copy batch (see docs/operations.md, tracing).</summary>
    public static readonly ActivitySource Activities = new(MeterName);

    private static readonly Meter _meter = new(MeterName);

    private static readonly Counter<long> _checkpoints = _meter.CreateCounter<long>(
        "orchestrator.job.checkpoints", "{checkpoint}", "Checkpoints persisted by block jobs");

    private static readonly Counter<long> _guestOperations = _meter.CreateCounter<long>(
        "orchestrator.guest.operations", "{operation}", "Guest I/O requests served, by disk and operation");

    private static readonly Counter<long> _guestBytes = _meter.CreateCounter<long>(
        "orchestrator.guest.bytes", "By", "Guest bytes read and written, by disk and operation");

    private static readonly Histogram<double> _guestLatency = _meter.CreateHistogram(
        "orchestrator.guest.latency", "s", "Guest request latency, by disk and operation",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });

    private static readonly Counter<long> _errors = _meter.CreateCounter<long>(
        "orchestrator.errors", "{error}", "Errors by kind (job failures, I/O errors, refused requests)");

    public static void Checkpointed(string disk, string job) =>
        _checkpoints.Add(1, new("disk", disk), new("job", job));

    /// <summary>One guest request: <paramref name="operation"/> is read, write, flush, trim or zero.</summary>
    public static void GuestRequest(string disk, string operation, long bytes, TimeSpan latency)
    {
        var tags = new TagList { { "disk", disk }, { "operation", operation } };
        _guestOperations.Add(1, tags);
        if (bytes > 0)
        {
            _guestBytes.Add(bytes, tags);
        }

        _guestLatency.Record(latency.TotalSeconds, tags);
    }

    public static void Error(string kind) => _errors.Add(1, new KeyValuePair<string, object?>("kind", kind));
}
