using System.Buffers;

namespace Orchestrator.Nbd;

/// <summary>
/// One connection's byte stream and its buffers: a small one for headers and a pooled payload buffer that grows to the
/// largest request seen (at most <see cref="NbdLimits.MaximumPayload"/> plus a reply header), so a request allocates nothing.
/// </summary>
internal sealed class NbdChannel(Stream stream) : IDisposable
{
    private const int DrainChunk = 256 * 1024;
    private byte[] _payload = ArrayPool<byte>.Shared.Rent(64 * 1024);

    /// <summary>Room for the largest fixed-size header of either phase (a 28-byte request, a 20-byte option reply header).</summary>
    public byte[] Header { get; } = new byte[32];

    /// <summary>A buffer of at least <paramref name="length"/> bytes, valid until the next call.</summary>
    public byte[] Payload(int length)
    {
        if (_payload.Length < length)
        {
            ArrayPool<byte>.Shared.Return(_payload);
            _payload = [];
            _payload = ArrayPool<byte>.Shared.Rent(length);
        }

        return _payload;
    }

    /// <exception cref="EndOfStreamException">The peer closed the connection before <paramref name="buffer"/> was filled.</exception>
    public ValueTask ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancel) => stream.ReadExactlyAsync(buffer, cancel);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancel) => stream.WriteAsync(data, cancel);

    /// <summary>Reads and discards <paramref name="length"/> bytes (the payload of a request that is refused), keeping the framing.</summary>
    public async ValueTask DrainAsync(long length, CancellationToken cancel)
    {
        var buffer = Payload((int)Math.Min(length, DrainChunk));
        while (length > 0)
        {
            var chunk = (int)Math.Min(length, buffer.Length);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, chunk), cancel);
            length -= chunk;
        }
    }

    public void Dispose()
    {
        if (_payload.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_payload);
            _payload = [];
        }
    }
}
