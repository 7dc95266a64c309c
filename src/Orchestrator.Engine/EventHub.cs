using System.Threading.Channels;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>
/// The node's QMP event stream: numbers each event, keeps the most recent ones so a reconnecting client can
/// replay from its last sequence (SSE Last-Event-ID), and fans events out to live subscribers.
/// </summary>
public sealed class EventHub
{
    private readonly object _gate = new();
    private readonly LinkedList<BlockJobEvent> _retained = new();
    private readonly List<Channel<BlockJobEvent>> _subscribers = [];
    private readonly int _capacity;
    private long _sequence;

    public EventHub(int capacity = 10_000) => _capacity = capacity;

    public void Publish(BlockJobEvent e)
    {
        lock (_gate)
        {
            var numbered = e with { Sequence = ++_sequence };
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
    }

    /// <summary>Retained events after <paramref name="afterSequence"/>, then live ones until cancelled.</summary>
    public async IAsyncEnumerable<BlockJobEvent> Subscribe(long afterSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
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
}
