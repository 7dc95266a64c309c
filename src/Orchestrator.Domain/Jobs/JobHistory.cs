namespace Orchestrator.Domain.Jobs;

/// <summary>
/// Finished jobs from the node's QMP events (durable, so the history survives restarts): each BLOCK_JOB_COMPLETED or
/// BLOCK_JOB_CANCELLED ends one run of a job id, which started at that id's last JOB_STATUS_CHANGE to
/// <c>created</c> before it. Job ids are reused once dismissed, so one id may have several entries, oldest first.
/// As far back as the events go (the node keeps the newest 10,000).
/// </summary>
public static class JobHistory
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<FinishedJob> From(IEnumerable<BlockJobEvent> events)
    {
        var started = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var finished = new List<FinishedJob>();
        foreach (var e in events)
        {
            switch (e)
            {
                case JobStatusChangeEvent { Status: "created" } created:
                    started[created.Id] = created.Timestamp;
                    break;
                case BlockJobCompletedEvent c:
                    finished.Add(new FinishedJob(c.Device, c.Type, c.Error is null ? Completed : Failed, StartOf(c.Device), c.Timestamp,
                        c.Len, c.Offset, c.Speed, c.Error, c.Sequence));
                    break;
                case BlockJobCancelledEvent x:
                    finished.Add(new FinishedJob(x.Device, x.Type, Cancelled, StartOf(x.Device), x.Timestamp, x.Len, x.Offset, x.Speed, null, x.Sequence));
                    break;
            }
        }

        return finished;

        DateTimeOffset? StartOf(string id) => started.Remove(id, out var at) ? at : null;
    }
}
