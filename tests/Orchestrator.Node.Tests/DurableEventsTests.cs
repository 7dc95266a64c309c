using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The event stream is durable: each event is journaled before a client sees it, numbered with its journal sequence, so
/// a client that reconnects after the node was killed and restarted (SSE Last-Event-ID) gets the next event exactly.
/// </summary>
public sealed class DurableEventsTests(ITestOutputHelper output)
{
    private static readonly string[] NodeArgs = ["--batch-size", "1M", "--checkpoint-size", "4M"];

    [Fact]
    public async Task After_a_SIGKILL_and_a_restart_Last_Event_ID_resumes_the_events_with_no_gap_and_no_duplicate_and_the_job_stays_in_the_history()
    {
        using var folder = new TempDirectory("durable-events");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var (_, top) = SlowChain.Create(images, "ev");

        IReadOnlyList<(long Id, System.Text.Json.JsonElement Event)> before;
        var node = await NodeProcess.StartAsync(folder.Path, NodeArgs);
        try
        {
            (await node.CliAsync("disk", "add", "ev", top)).EnsureSuccess();
            await using var first = await EventRecorder.FollowAsync(node);
            using (var stream = await Json.PostAsync(node.Http, "disks/ev/stream", new { speed = 4L << 20 }))
            {
                Assert.Equal(HttpStatusCode.Created, stream.StatusCode);
            }

            Assert.True(await first.WaitForAsync(e => e.GetProperty("event").GetString() == "JOB_STATUS_CHANGE"
                && e.GetProperty("data").GetProperty("status").GetString() == "running", TimeSpan.FromSeconds(30)), first.Summary());
            await node.KillAsync();
            before = first.Numbered;
        }
        finally
        {
            await node.DisposeAsync();
        }

        var lastSeen = before[^1].Id;
        node = await NodeProcess.StartAsync(folder.Path, NodeArgs);
        try
        {
            await using var resumed = await EventRecorder.FollowAsync(node, afterId: lastSeen);
            using (var speed = await Json.PostAsync(node.Http, "jobs/ev/set-speed", new { speed = 0 }))
            {
                Assert.Equal(HttpStatusCode.OK, speed.StatusCode);
            }

            Assert.True(await resumed.WaitForAsync(e => EventRecorder.IsDismissed(e, "ev"), TimeSpan.FromSeconds(60)), resumed.Summary());
            var after = resumed.Numbered;
            output.WriteLine($"before the kill: ids {string.Join(",", before.Select(e => e.Id))}; after the restart (Last-Event-ID {lastSeen}): "
                + $"ids {string.Join(",", after.Select(e => e.Id))} ({resumed.Summary()})");

            // Consecutive from 1 across the kill: nothing skipped, nothing repeated.
            var ids = before.Concat(after).Select(e => e.Id).ToList();
            Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => (long)i), ids);
            Assert.Contains(after, e => e.Event.GetProperty("event").GetString() == "BLOCK_JOB_COMPLETED");

            // A client starting from scratch now reads the same events, the killed run's included, under the same ids.
            await using var replay = await EventRecorder.FollowAsync(node);
            Assert.True(await replay.WaitForAsync(e => EventRecorder.IsDismissed(e, "ev"), TimeSpan.FromSeconds(10)), replay.Summary());
            Assert.Equal(ids, replay.Numbered.Select(e => e.Id).Take(ids.Count));
            Assert.Equal(before.Concat(after).Select(e => e.Event.GetRawText()), replay.Numbered.Take(ids.Count).Select(e => e.Event.GetRawText()));

            // The finished job stays queryable, timed from its start in the killed run (jobs --all, as oVirt keeps jobs).
            var all = await node.CliAsync("jobs", "--all", "--output", "json");
            all.EnsureSuccess();
            var finished = Json.Parse(all.StdOut).GetProperty("finished");
            var job = Assert.Single(finished.EnumerateArray());
            Assert.Equal(("ev", "stream", "completed"), (job.GetProperty("id").GetString(), job.GetProperty("type").GetString(), job.GetProperty("outcome").GetString()));
            Assert.Equal(job.GetProperty("len").GetInt64(), job.GetProperty("offset").GetInt64());
            Assert.True(job.GetProperty("started").GetDateTimeOffset() < job.GetProperty("ended").GetDateTimeOffset(), all.StdOut);
            var human = await node.CliAsync("jobs", "--all");
            Assert.Contains("stream job 'ev' completed at", human.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
