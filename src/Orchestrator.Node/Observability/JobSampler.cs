using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Observability;
using Orchestrator.Node.Api;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Keeps the latest query-block-jobs answer for the job gauges (an observable gauge's callback is synchronous and must
/// not ask the engine), and counts job failures from the event stream by kind. It also tells readiness whether the
/// engine answered recently.
/// </summary>
public sealed partial class JobSampler(EngineGateway engine, EventHub events, ILogger<JobSampler> logger) : BackgroundService
{
    /// <summary>How often the job list is refreshed: a scrape sees figures at most this old.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private volatile IReadOnlyList<JobInfo> _jobs = [];
    private long _lastAnswerTicks;

    /// <summary>The jobs as of the last successful sample.</summary>
    public IReadOnlyList<JobInfo> Jobs => _jobs;

    /// <summary>When the engine last answered a sample (UTC), or null before the first answer.</summary>
    public DateTimeOffset? LastAnswer
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastAnswerTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(SampleAsync(stoppingToken), CountFailuresAsync(stoppingToken));

    private async Task SampleAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                if (await engine.AskAsync(new ManagerCommands.QueryAllJobs(), stop) is DiskReplies.JobList list)
                {
                    _jobs = list.Jobs;
                    Interlocked.Exchange(ref _lastAnswerTicks, DateTimeOffset.UtcNow.UtcTicks);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSampleFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
    }

    private async Task CountFailuresAsync(CancellationToken stop)
    {
        await foreach (var e in events.Subscribe(events.LastSequence, stop).ConfigureAwait(false))
        {
            switch (e)
            {
                case BlockJobCompletedEvent { Error: not null }:
                    EngineMetrics.Error("job-failed");
                    break;
                case BlockJobErrorEvent error:
                    EngineMetrics.Error($"job-io-{error.Operation}");
                    break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "job metrics: the engine did not answer a sample: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
