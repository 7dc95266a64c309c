using System.Diagnostics;

namespace Orchestrator.Engine.Observability;

/// <summary>
/// The engine's spans on <see cref="EngineMetrics.Activities"/>: a job's start in its disk actor, a child of the request
/// that asked for it (its W3C traceparent travels in the command, as actors do not share the caller's
/// <see cref="Activity.Current"/>), and each copy batch of the job, a child of that start. Without a listener every
/// call returns null.
/// </summary>
public static class EngineSpans
{
    public const string JobStart = "orchestrator.job.start";
    public const string CopyBatch = "orchestrator.job.batch";

    /// <summary>The actor's span for a job request; a root span when the request carried no (valid) traceparent.</summary>
    public static Activity? StartJob(string? traceParent, string disk, string type)
    {
        ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent);
        var span = EngineMetrics.Activities.StartActivity(JobStart, ActivityKind.Internal, parent);
        span?.SetTag("disk", disk);
        span?.SetTag("job.type", type);
        return span;
    }

    /// <summary>
    /// One copy batch, under the job's start span; none for a job with no start span in this process (one resumed
    /// after a restart has no request to belong to).
    /// </summary>
    public static Activity? StartBatch(ActivityContext jobStart, string job, long offset)
    {
        if (jobStart == default)
        {
            return null;
        }

        var span = EngineMetrics.Activities.StartActivity(CopyBatch, ActivityKind.Internal, jobStart);
        span?.SetTag("job", job);
        span?.SetTag("offset", offset);
        return span;
    }
}
