using Orchestrator.Engine.Disks;
using Xunit;

namespace Orchestrator.Engine.Tests.Disks;

/// <summary>
/// The threads a disk's blocking image work runs on: never the caller's or a pool thread, never behind another piece,
/// reused from one piece to the next, and gone once idle.
/// </summary>
public sealed class ImageWorkThreadsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Work_runs_on_a_thread_of_its_own_outside_the_pool()
    {
        var threads = new ImageWorkThreads(TimeSpan.FromSeconds(5));
        var caller = Environment.CurrentManagedThreadId;

        var (id, pooled) = await threads.Run(() => (Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread)).WaitAsync(Patience);

        Assert.NotEqual(caller, id);
        Assert.False(pooled);
    }

    [Fact]
    public async Task A_blocked_piece_does_not_hold_back_the_next()
    {
        var threads = new ImageWorkThreads(TimeSpan.FromSeconds(5));
        using var release = new ManualResetEventSlim();
        var blocked = threads.Run(() => release.Wait(Patience));

        var next = await threads.Run(() => 42).WaitAsync(Patience);

        Assert.Equal(42, next);
        Assert.False(blocked.IsCompleted);
        Assert.Equal(2, threads.Threads);
        release.Set();
        Assert.True(await blocked.WaitAsync(Patience));
    }

    [Fact]
    public async Task Pieces_one_after_another_reuse_one_thread()
    {
        var threads = new ImageWorkThreads(TimeSpan.FromSeconds(30));
        var ids = new HashSet<int>();
        for (var i = 0; i < 50; i++)
        {
            ids.Add(await threads.Run(() => Environment.CurrentManagedThreadId).WaitAsync(Patience));
        }

        // The thread that finished a piece waits for the next one, unless it was still returning to wait when the next
        // arrived: then a second one starts. Never one per piece.
        Assert.InRange(ids.Count, 1, 5);
        Assert.InRange(threads.Threads, 1, 5);
    }

    [Fact]
    public async Task Many_pieces_at_once_all_run_and_the_threads_end_when_idle()
    {
        var threads = new ImageWorkThreads(TimeSpan.FromMilliseconds(200));
        var done = 0;
        var pieces = Enumerable.Range(0, 200).Select(i => threads.Run(() =>
        {
            Thread.SpinWait(1000);
            Interlocked.Increment(ref done);
            return i;
        })).ToList();

        var results = await Task.WhenAll(pieces).WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 200), results);
        Assert.Equal(200, done);
        var deadline = DateTime.UtcNow + Patience;
        while (threads.Threads > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, threads.Threads);
    }

    [Fact]
    public async Task A_failing_piece_fails_its_task_and_the_thread_goes_on()
    {
        var threads = new ImageWorkThreads(TimeSpan.FromSeconds(5));

        var failed = threads.Run<int>(() => throw new IOException("no such image"));
        var e = await Assert.ThrowsAsync<IOException>(() => failed.WaitAsync(Patience));

        Assert.Equal("no such image", e.Message);
        Assert.Equal(7, await threads.Run(() => 7).WaitAsync(Patience));
    }

    [Fact]
    public void A_non_positive_idle_timeout_is_refused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageWorkThreads(TimeSpan.Zero));
        Assert.Equal("idleTimeout", e.ParamName);
    }
}
