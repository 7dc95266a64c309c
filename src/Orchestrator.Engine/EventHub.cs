using System.Threading.Channels;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>
/// The node's QMP event stream: numbers each event, keeps the most recent ones so a reconnecting client can
/// replay from its last sequence (SSE Last-Event-ID), and fans events out to live subscribers.
/// </summary>
/// <remarks>
/// In a running engine the numbers are durable: <see cref="Publish"/> hands the event to the node's event log
/// (<see cref="Persistence.EventLogActor"/>), which journals it and then <see cref="Deliver"/>s it numbered with its
/// journal sequence number; after a restart the log restores the retained events and the numbering goes on, so a
/// client resuming with Last-Event-ID gets no gap and no duplicate. Until the log has recovered, subscribers wait.
/// A hub with no log attached (a unit test's) numbers events itself.
/// </remarks>
public sealed class EventHub
{
    private readonly object _gate = new();
    private readonly LinkedList<BlockJobEvent> _retained = new();
    private readonly List<Channel<BlockJobEvent>> _subscribers = [];
    private readonly int _capacity;
    private TaskCompletionSource _ready = Completed();
    private Action<BlockJobEvent>? _log;
    private long _sequence;
    private long _published;
    private long _delivered;

    public EventHub(int capacity = 10_000) => _capacity = capacity;

    /// <summary>How many of the newest events are kept for replay (the event log keeps as many in its journal).</summary>
    public int Capacity => _capacity;

    public void Publish(BlockJobEvent e)
    {
        Action<BlockJobEvent>? log;
        lock (_gate)
        {
            log = _log;
            if (log is null)
            {
                DeliverLocked(e with { Sequence = _sequence + 1 });
                return;
            }

            _published++;
        }

        log(e);
    }

    /// <summary>From now on events go through <paramref name="log"/>; subscribers wait until <see cref="MarkReady"/>.</summary>
    internal void Attach(Action<BlockJobEvent> log)
    {
        lock (_gate)
        {
            _log = log;
            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>An event the log has journaled under <see cref="BlockJobEvent.Sequence"/>: kept, and sent to subscribers.</summary>
    internal void Deliver(BlockJobEvent numbered)
    {
        lock (_gate)
        {
            _delivered++;
            DeliverLocked(numbered);
        }
    }

    /// <summary>An event of an earlier run, replayed by the log's recovery.</summary>
    internal void Restore(BlockJobEvent numbered)
    {
        lock (_gate)
        {
            DeliverLocked(numbered);
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until every event published so far has been journaled and delivered:
    /// for a reader that needs the events of what it just saw happen (tests, diagnostics), not for live subscribers.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        long target;
        lock (_gate)
        {
            target = _published;
        }

        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (_gate)
            {
                if (_delivered >= target)
                {
                    return;
                }
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    /// <summary>The log's recovery is done: the retained events are back, and subscribers may read them.</summary>
    internal void MarkReady()
    {
        lock (_gate)
        {
            _ready.TrySetResult();
        }
    }

    private void DeliverLocked(BlockJobEvent numbered)
    {
        _sequence = Math.Max(_sequence, numbered.Sequence);
        _retained.AddLast(numbered);
        if (_retained.Count > _capacity)
        {
            _retained.RemoveFirst();
        }

        foreach (var subscriber in _subscribers)
        {
            subscriber.Writer.TryWrite(numbered);
        }
    }

    /// <summary>Retained events after <paramref name="afterSequence"/>, then live ones until cancelled.</summary>
    public async IAsyncEnumerable<BlockJobEvent> Subscribe(long afterSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await WhenReady(ct).ConfigureAwait(false);
        var channel = Channel.CreateUnbounded<BlockJobEvent>(new UnboundedChannelOptions { SingleReader = true });
        List<BlockJobEvent> backlog;
        lock (_gate)
        {
            backlog = _retained.Where(e => e.Sequence > afterSequence).ToList();
            _subscribers.Add(channel);
        }

        try
        {
            foreach (var e in backlog)
            {
                yield return e;
            }

            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var e))
                {
                    yield return e;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    /// <summary>Completes once the retained events are complete (the event log has recovered).</summary>
    public Task WhenReady(CancellationToken ct = default)
    {
        Task ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        return ready.WaitAsync(ct);
    }

    /// <summary>The sequence number of the newest event (0 before the first).</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _sequence;
            }
        }
    }

    /// <summary>A copy of the retained events (for tests and diagnostics).</summary>
    public IReadOnlyList<BlockJobEvent> Retained()
    {
        lock (_gate)
        {
            return _retained.ToList();
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }
}
