using Orchestrator.Domain.Jobs;
using Xunit;

namespace Orchestrator.Domain.Tests.Jobs;

public sealed class JobHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static JobStatusChangeEvent Status(string id, string status, int second, long sequence) =>
        new(id, status, T0.AddSeconds(second)) { Sequence = sequence };

    [Fact]
    public void Each_end_event_is_one_finished_run_timed_from_its_created_status_and_a_reused_id_gives_two_entries()
    {
        var events = new BlockJobEvent[]
        {
            Status("a", "created", 0, 1),
            Status("b", "created", 1, 2),
            new BlockJobErrorEvent("b", "read", "report", T0.AddSeconds(2)) { Sequence = 3 },
            new BlockJobCompletedEvent("stream", "b", 100, 40, 0, "Input/output error", T0.AddSeconds(3)) { Sequence = 4 },
            new BlockJobCompletedEvent("stream", "a", 100, 100, 5, null, T0.AddSeconds(4)) { Sequence = 5 },
            Status("a", "null", 5, 6),
            Status("a", "created", 10, 7),
            new BlockJobCancelledEvent("block-copy", "a", 200, 50, 0, T0.AddSeconds(12)) { Sequence = 8 },
            Status("c", "created", 13, 9),
        };

        var history = JobHistory.From(events);

        Assert.Equal(
        [
            new FinishedJob("b", "stream", JobHistory.Failed, T0.AddSeconds(1), T0.AddSeconds(3), 100, 40, 0, "Input/output error", 4),
            new FinishedJob("a", "stream", JobHistory.Completed, T0, T0.AddSeconds(4), 100, 100, 5, null, 5),
            new FinishedJob("a", "block-copy", JobHistory.Cancelled, T0.AddSeconds(10), T0.AddSeconds(12), 200, 50, 0, null, 8),
        ], history);
    }

    [Fact]
    public void A_run_whose_created_event_is_older_than_the_retained_events_has_no_start()
    {
        var history = JobHistory.From([new BlockJobCompletedEvent("stream", "old", 10, 10, 0, null, T0) { Sequence = 10_001 }]);

        Assert.Null(Assert.Single(history).Started);
    }
}
