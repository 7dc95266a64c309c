namespace Orchestrator.Nbd;

/// <summary>
/// A weighted, first-come first-served semaphore over bytes: whoever asks waits until that many bytes are free and
/// nobody asked earlier. A request for more than the whole budget waits for all of it (so it still gets served).
/// </summary>
internal sealed class ByteBudget
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly long _capacity;
    private long _available;

    public ByteBudget(long capacity)
    {
        _capacity = capacity;
        _available = capacity;
    }

    public long Capacity => _capacity;

    /// <summary>Bytes taken right now.</summary>
    public long InUse
    {
        get
        {
            lock (_lock)
            {
                return _capacity - _available;
            }
        }
    }

    public ValueTask AcquireAsync(long bytes, CancellationToken cancel)
    {
        bytes = Math.Min(bytes, _capacity);
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return new ValueTask(WaitAsync(waiter, cancel));
    }

    public void Release(long bytes)
    {
        bytes = Math.Min(bytes, _capacity);
        List<Waiter>? granted;
        lock (_lock)
        {
            _available += bytes;
            granted = GrantLocked();
        }

        // Completed outside the lock: a continuation that runs inline must not run under it.
        granted?.ForEach(w => w.Completion.TrySetResult());
    }

    /// <summary>Takes the bytes of the waiters at the head of the queue that now fit, in order.</summary>
    private List<Waiter>? GrantLocked()
    {
        List<Waiter>? granted = null;
        while (_waiters.First is { } first && first.Value.Bytes <= _available)
        {
            _available -= first.Value.Bytes;
            _waiters.RemoveFirst();
            first.Value.Node = null;
            (granted ??= []).Add(first.Value);
        }

        return granted;
    }

    private async Task WaitAsync(Waiter waiter, CancellationToken cancel)
    {
        await using var registration = cancel.Register(() => Cancel(waiter, cancel));
        await waiter.Completion.Task;
    }

    private void Cancel(Waiter waiter, CancellationToken cancel)
    {
        List<Waiter>? granted;
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                // Already granted: the caller owns the bytes and releases them.
                return;
            }

            _waiters.Remove(waiter.Node);
            waiter.Node = null;
            // The waiter that gave up may have been the one holding the others back.
            granted = GrantLocked();
        }

        waiter.Completion.TrySetCanceled(cancel);
        granted?.ForEach(w => w.Completion.TrySetResult());
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
