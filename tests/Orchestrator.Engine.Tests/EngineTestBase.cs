using Akka.Configuration;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// A fresh temp folder (the only storage root), a SQLite journal in it and a running engine node per test.
/// Small batches and checkpoints so that every job has many of them.
/// </summary>
public abstract class EngineTestBase : IAsyncLifetime
{
    protected const long MiB = 1024 * 1024;
    protected static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new("engine");

    protected EngineTestBase()
        : this(settings => settings)
    {
    }

    /// <summary>For tests that need other settings: <paramref name="adjust"/> gets the usual ones (1 MiB batches, 2 MiB checkpoints) and returns its own.</summary>
    protected EngineTestBase(Func<EngineSettings, EngineSettings> adjust)
    {
        Settings = adjust(new EngineSettings { StorageRoots = [_dir.Path], BatchBytes = (int)MiB, CheckpointBytes = 2 * MiB });
        Node = EngineNode.Start(JournalPath, Settings);
    }

    protected string Dir => _dir.Path;

    protected string JournalPath => _dir.Combine("journal.db");

    protected EngineSettings Settings { get; }

    internal EngineNode Node { get; private set; }

    protected string PathOf(string name) => _dir.Combine(name);

    /// <summary>
    /// A node restart: stop the actor system, start a new one with a new manager on the same journal (with
    /// <paramref name="overrides"/> over its configuration, for fault injection).
    /// </summary>
    protected async Task RestartAsync(Config? overrides = null)
    {
        await Node.StopAsync();
        Node = EngineNode.Start(JournalPath, Settings, overrides);
    }

    protected Task<DiskReplies.DiskInfo> Register(DiskId disk, string active) =>
        Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Register(disk, active));

    /// <summary>
    /// A 16 MiB 4-image chain named with <paramref name="prefix"/>, registered as <paramref name="disk"/>, its guest view
    /// captured, and a guest cluster at or after <paramref name="atOrAfter"/> that only B provides (where a fault on B's
    /// read lands mid-stream).
    /// </summary>
    protected async Task<(IReadOnlyList<string> Chain, string Raw, long Guest, long Host)> PrepareFaultChain(DiskId disk, string prefix, int seed, long atOrAfter)
    {
        var chain = EngineFixture.BuildChain(Dir, 16 * MiB, seed, prefix: prefix);
        var raw = ImageAssert.CaptureRaw(chain[^1], PathOf(prefix + "before.raw"));
        var (guest, host) = ImageAssert.FirstDataAtDepth(chain[^1], depth: 2, atOrAfter: atOrAfter);
        await Register(disk, chain[^1]);
        return (chain, raw, guest, host);
    }

    protected Task<DiskReplies.DiskInfo> Show(DiskId disk) => Node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(disk));

    protected Task<DiskReplies.JobStarted> Stream(DiskId disk, StreamRequest request) =>
        Node.AskOk<DiskReplies.JobStarted>(new DiskCommands.Stream(disk, request));

    protected async Task<JobInfo?> Query(DiskId disk, string job) =>
        (await Node.AskOk<DiskReplies.JobList>(new DiskCommands.QueryJobs(disk))).Jobs.SingleOrDefault(j => j.Device == job);

    protected async Task<JobInfo> QueryLive(DiskId disk, string job) =>
        await Query(disk, job) ?? throw new InvalidOperationException($"job '{job}' is gone; events: {Node.DescribeEvents()}");

    protected Task<DiskReplies.JobList> Verb(DiskId disk, string job, JobVerb verb, long speed = 0) =>
        Node.AskOk<DiskReplies.JobList>(new DiskCommands.JobVerbCommand(disk, new JobId(job), verb, speed));

    protected Task<DiskReplies.Refused> VerbRefused(DiskId disk, string job, JobVerb verb, long speed = 0) =>
        Node.AskRefused(new DiskCommands.JobVerbCommand(disk, new JobId(job), verb, speed));

    protected Task<BlockJobCompletedEvent> WaitCompleted(string device) =>
        Node.WaitForEvent<BlockJobCompletedEvent>(e => e.Device == device, JobTimeout);

    /// <summary>Polls until <paramref name="condition"/> holds; fails naming <paramref name="what"/> and the events seen.</summary>
    protected async Task WaitUntil(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? JobTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}; events: {Node.DescribeEvents()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the job's scanned offset reaches <paramref name="offset"/> (the job must still be live).</summary>
    protected async Task<JobInfo> WaitForOffset(DiskId disk, string job, long offset)
    {
        JobInfo? info = null;
        await WaitUntil(async () => (info = await QueryLive(disk, job)).Offset >= offset, $"job '{job}' offset >= {offset}");
        return info!;
    }

    /// <summary>
    /// The engine publishes CANCELLED, and COMPLETED of a failed job, before its copy loop has stopped writing the top
    /// (see JobControlTests.Cancel_during_the_rate_limit_sleep_copies_nothing_more); tests about something else wait
    /// this long before they inspect the files.
    /// </summary>
    protected static Task SettleAfterJobEnd() => Task.Delay(500);

    /// <summary>The JOB_STATUS_CHANGE statuses of one job, in order.</summary>
    protected IReadOnlyList<string> StatusesOf(string job) =>
        Node.RunEvents().OfType<JobStatusChangeEvent>().Where(e => e.Id == job).Select(e => e.Status).ToList();

    /// <summary>The job's events other than JOB_STATUS_CHANGE, by name, in order.</summary>
    protected IReadOnlyList<string> BlockJobEventsOf(string job) =>
        Node.RunEvents().Where(e => e switch
        {
            BlockJobCompletedEvent c => c.Device == job,
            BlockJobCancelledEvent c => c.Device == job,
            BlockJobErrorEvent x => x.Device == job,
            _ => false,
        }).Select(e => e.Event).ToList();

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        await Node.StopAsync();
        _dir.Dispose();
    }
}
