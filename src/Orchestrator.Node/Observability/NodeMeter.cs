using System.Diagnostics.Metrics;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Per-job gauges (meter <see cref="MeterName"/>), read from <see cref="JobSampler"/>: offset, bytes copied, length, speed limit
/// and state, each labelled with the job, its disk and type. The state gauge is 1 for the job's current QEMU status
/// (status label), as Prometheus' enum convention has it.
/// </summary>
public sealed class NodeMeter : IDisposable
{
    public const string MeterName = "Orchestrator.Node";

    private readonly Meter _meter = new(MeterName);

    public NodeMeter(JobSampler sampler)
    {
        _meter.CreateObservableGauge("orchestrator.job.offset", () => Each(sampler, j => j.Offset), "By", "Address space a block job has scanned (QEMU's offset)");
        _meter.CreateObservableGauge("orchestrator.job.copied", () => Each(sampler, j => j.BytesCopied), "By", "Data a block job has written into its top");
        _meter.CreateObservableGauge("orchestrator.job.length", () => Each(sampler, j => j.Len), "By", "A block job's length (QEMU's len)");
        _meter.CreateObservableGauge("orchestrator.job.speed_limit", () => Each(sampler, j => j.Speed), "By/s", "A block job's speed limit, 0 for none");
        _meter.CreateObservableGauge("orchestrator.job.state", () => sampler.Jobs.Select(j =>
            new Measurement<long>(1, [.. Tags(j), new("status", j.Status)])), "{job}", "1 for each job in its QEMU status");
    }

    private static IEnumerable<Measurement<long>> Each(JobSampler sampler, Func<JobInfo, long> value) =>
        sampler.Jobs.Select(j => new Measurement<long>(value(j), Tags(j)));

    private static KeyValuePair<string, object?>[] Tags(JobInfo job) =>
        [new("job", job.Device), new("disk", job.Disk), new("type", job.Type)];

    public void Dispose() => _meter.Dispose();
}
