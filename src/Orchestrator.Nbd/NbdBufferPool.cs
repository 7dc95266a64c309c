namespace Orchestrator.Nbd;

/// <summary>
/// The buffers of every connection of one server, bounded: at most <see cref="NbdServerOptions.MaxBytesPerServer"/>
/// bytes are handed out at once (a request waits for room, which holds the client back through TCP), and at most
/// <see cref="NbdServerOptions.RetainedBytes"/> of the freed ones are kept for reuse; the others are unmapped.
/// </summary>
public sealed class NbdBufferPool : IDisposable
{
    private readonly ByteBudget _budget;
    private readonly long _retainLimit;
    private readonly Lock _lock = new();
    private readonly List<NbdBuffer> _retained = [];
    private long _retainedBytes;
    private long _mappedBytes;
    private bool _disposed;

    public NbdBufferPool(NbdServerOptions options)
    {
        _budget = new ByteBudget(options.MaxBytesPerServer);
        _retainLimit = options.RetainedBytes;
    }

    /// <summary>Bytes in buffers handed out now.</summary>
    public long BytesInUse => _budget.InUse;

    /// <summary>Bytes mapped now: handed out plus kept for reuse.</summary>
    public long BytesMapped => Interlocked.Read(ref _mappedBytes);

    /// <summary>A buffer with room for <paramref name="dataLength"/> bytes of data; waits while the server's budget is spent.</summary>
    internal async ValueTask<NbdBuffer> RentAsync(int dataLength, CancellationToken cancel)
    {
        var capacity = NbdBuffer.CapacityFor(dataLength);
        await _budget.AcquireAsync(capacity, cancel);
        try
        {
            var buffer = Take(capacity);
            buffer.Charged = capacity;
            return buffer;
        }
        catch
        {
            _budget.Release(capacity);
            throw;
        }
    }

    internal void Return(NbdBuffer buffer)
    {
        var charged = buffer.Charged;
        var keep = false;
        lock (_lock)
        {
            if (!_disposed && _retainedBytes + buffer.Capacity <= _retainLimit)
            {
                _retained.Add(buffer);
                _retainedBytes += buffer.Capacity;
                keep = true;
            }
        }

        if (!keep)
        {
            Unmap(buffer);
        }

        _budget.Release(charged);
    }

    /// <summary>A kept buffer that fits without wasting more than half of it, or a new one.</summary>
    private NbdBuffer Take(int capacity)
    {
        lock (_lock)
        {
            for (var i = _retained.Count - 1; i >= 0; i--)
            {
                var candidate = _retained[i];
                if (candidate.Capacity >= capacity && candidate.Capacity / 2 <= capacity)
                {
                    _retained.RemoveAt(i);
                    _retainedBytes -= candidate.Capacity;
                    return candidate;
                }
            }
        }

        var buffer = NbdBuffer.Allocate(capacity);
        Interlocked.Add(ref _mappedBytes, buffer.Capacity);
        return buffer;
    }

    private void Unmap(NbdBuffer buffer)
    {
        Interlocked.Add(ref _mappedBytes, -buffer.Capacity);
        ((IDisposable)buffer).Dispose();
    }

    /// <summary>Unmaps the kept buffers; buffers still handed out are unmapped when they come back.</summary>
    public void Dispose()
    {
        List<NbdBuffer> kept;
        lock (_lock)
        {
            _disposed = true;
            kept = [.. _retained];
            _retained.Clear();
            _retainedBytes = 0;
        }

        kept.ForEach(Unmap);
    }
}
