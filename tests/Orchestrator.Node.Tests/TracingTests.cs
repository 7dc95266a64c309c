using System.Collections.Concurrent;
using System.Diagnostics;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Contracts;
using Orchestrator.Engine.Observability;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The spans of a stream started through the API, seen by an in-process <see cref="ActivityListener"/> on a node in this
/// process: ASP.NET Core's request span, the disk actor's job start as its child, and the copy batches as children of
/// the job start, all in one trace.
/// </summary>
public sealed class TracingTests(ITestOutputHelper output)
{
    private const string AspNetCore = "Microsoft.AspNetCore";

    [Fact]
    public async Task A_stream_started_through_the_api_yields_request_actor_and_batch_spans_in_one_trace()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is EngineMetrics.MeterName or AspNetCore,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        using var folder = new TempDirectory("tracing");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var data = Directory.CreateDirectory(Path.Combine(folder.Path, "node")).FullName;
        var (@base, _, top) = Chains.Create(images, "traced");

        using var stop = new CancellationTokenSource();
        var node = NodeLauncher.RunInProcessAsync(data, images, "writeback", stop.Token);
        try
        {
            using var client = await ConnectAsync(data, node);
            await client.SendAsync<DiskView>(HttpMethod.Post, "/disks", new RegisterDiskRequest { Id = "traced", Path = top }, CancellationToken.None);
            await client.SendAsync<JobView>(HttpMethod.Post, "/disks/traced/stream",
                new StreamJobRequest { Base = Path.GetFileName(@base), AutoDismiss = false }, CancellationToken.None);

            var start = await WaitForAsync(spans, s => s.OperationName == EngineSpans.JobStart && (string?)s.GetTagItem("disk") == "traced");
            var batch = await WaitForAsync(spans, s => s.OperationName == EngineSpans.CopyBatch && s.ParentSpanId == start.SpanId);
            var request = await WaitForAsync(spans, s => s.Source.Name == AspNetCore && s.SpanId == start.ParentSpanId);
            output.WriteLine($"request {request.TraceId}/{request.SpanId} {request.DisplayName}; start {start.SpanId}; batch {batch.SpanId}");

            Assert.Equal(request.TraceId, start.TraceId);
            Assert.Equal(request.TraceId, batch.TraceId);
            Assert.Equal(default, request.ParentSpanId);
            Assert.Equal("stream", start.GetTagItem("job.type"));
            Assert.Equal("traced", batch.GetTagItem("job"));

            // Every batch of the job belongs to the same trace.
            await WaitForConcludedAsync(client);
            var batches = spans.Where(s => s.OperationName == EngineSpans.CopyBatch && (string?)s.GetTagItem("job") == "traced").ToList();
            Assert.All(batches, b => Assert.Equal(start.SpanId, b.ParentSpanId));
            Assert.All(batches, b => Assert.Equal(request.TraceId, b.TraceId));
        }
        finally
        {
            await stop.CancelAsync();
            await node.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
    }

    private static async Task<NodeClient> ConnectAsync(string data, Task node)
    {
        var endpoint = Path.Combine(data, NodeDataFolder.EndpointFile);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(endpoint))
        {
            if (node.IsCompleted)
            {
                await node;
                throw new Xunit.Sdk.XunitException("the in-process node stopped before it was ready");
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the in-process node did not start within 60 s");
            await Task.Delay(50);
        }

        return new NodeClient(NodeConnection.Discover(serverFlag: null, tokenFileFlag: null, dataFlag: data));
    }

    private static async Task<Activity> WaitForAsync(ConcurrentQueue<Activity> spans, Func<Activity, bool> match)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (spans.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new Xunit.Sdk.XunitException(
                    $"no such span within 60 s; seen: {string.Join(", ", spans.Select(s => $"{s.Source.Name}:{s.OperationName}"))}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task WaitForConcludedAsync(NodeClient client)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.GetAsync<JobView>("/jobs/traced", CancellationToken.None)).Status != "concluded")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the stream did not conclude within 60 s");
            await Task.Delay(100);
        }
    }
}
