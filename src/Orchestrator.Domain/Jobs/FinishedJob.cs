namespace Orchestrator.Domain.Jobs;

/// <summary>
/// A job that has ended, as the event stream tells it (oVirt keeps its jobs so): how it ended (<c>completed</c>,
/// <c>failed</c> or <c>cancelled</c>), when it started and ended, how far it got and its error. Built by
/// <see cref="JobHistory"/>.
/// </summary>
public sealed record FinishedJob(
    string Id,
    string Type,
    string Outcome,
    DateTimeOffset? Started,
    DateTimeOffset Ended,
    long Len,
    long Offset,
    long Speed,
    string? Error,
    long Sequence);
