namespace Orchestrator.Engine.Disks;

/// <summary>
/// Runs blocking image work (opening a chain, the allocation scan) on threads of its own, outside the thread pool, as
/// <see cref="TaskCreationOptions.LongRunning"/> does: a piece never waits behind another one, and a slow one never holds
/// a pool thread the actors need. Unlike LongRunning, a thread that finishes its piece waits a while for the next one
/// instead of ending: a restart with 1,000 disks started 2,000 threads (an open and a scan each), one at a time on the
/// disks' recoveries, which cost more than the opens themselves.
/// </summary>
internal sealed class ImageWorkThreads : TaskScheduler
{
    /// <summary>The engine's one instance: its threads end after 10 s without work.</summary>
    public static readonly ImageWorkThreads Shared = new(TimeSpan.FromSeconds(10));

    private readonly object _gate = new();
    private readonly Queue<Task> _queue = new();
    private readonly TimeSpan _idleTimeout;

    // Threads waiting for work, and threads alive; both under _gate.
    private int _idle;
    private int _threads;

    public ImageWorkThreads(TimeSpan idleTimeout)
    {
        if (idleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout, "must be positive");
        }

        _idleTimeout = idleTimeout;
    }

    /// <summary>Threads alive now (working or waiting for work).</summary>
    public int Threads
    {
        get
        {
            lock (_gate)
            {
                return _threads;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on one of these threads.</summary>
    public Task<T> Run<T>(Func<T> work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this);

    protected override void QueueTask(Task task)
    {
        bool start;
        lock (_gate)
        {
            _queue.Enqueue(task);

            // Each queued piece needs a thread of its own: a waiting one (woken here) while there are enough of them.
            start = _queue.Count > _idle;
            if (start)
            {
                _threads++;
            }
            else
            {
                Monitor.Pulse(_gate);
            }
        }

        if (start)
        {
            new Thread(Work) { IsBackground = true, Name = "image-work" }.Start();
        }
    }

    /// <summary>Never inline: the caller is an actor's thread, which must not block on image I/O.</summary>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate)
        {
            return [.. _queue];
        }
    }

    private void Work()
    {
        while (true)
        {
            Task task;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    _idle++;
                    var woken = Monitor.Wait(_gate, _idleTimeout);
                    _idle--;
                    if (!woken && _queue.Count == 0)
                    {
                        _threads--;
                        return;
                    }
                }

                task = _queue.Dequeue();
            }

            TryExecuteTask(task);
        }
    }
}
