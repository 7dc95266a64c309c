namespace Orchestrator.Nbd.Tests;

/// <summary>
/// A real export kept in memory: what the server under test reads and writes. Flushes are counted, and a failure can
/// be injected for writes at or after an offset (the one fault injection these tests use).
/// </summary>
internal sealed class MemoryExport(string name, int size) : INbdExport
{
    private readonly byte[] _bytes = new byte[size];
    private readonly Lock _lock = new();
    private int _flushes;
    private int _trims;

    public string Name { get; } = name;

    public long Size => _bytes.Length;

    public bool IsReadOnly { get; set; }

    /// <summary>Trims seen, in order (a trim leaves the bytes as they are, which the protocol allows).</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <summary>Writes at or past this offset fail with <see cref="FailWith"/> (an exception the export throws).</summary>
    public long FailWritesFrom { get; set; } = long.MaxValue;

    public Func<Exception> FailWith { get; set; } = () => new IOException("injected failure");

    public int Flushes => Volatile.Read(ref _flushes);

    public byte[] Snapshot()
    {
        lock (_lock)
        {
            return (byte[])_bytes.Clone();
        }
    }

    /// <summary>A read at exactly this offset waits for <see cref="HeldReads"/> to be set: a slow request on demand.</summary>
    public long HoldReadsAt { get; set; } = -1;

    public ManualResetEventSlim HeldReads { get; } = new(false);

    public void Read(long offset, Span<byte> buffer)
    {
        if (offset == HoldReadsAt)
        {
            HeldReads.Wait(TimeSpan.FromSeconds(30));
        }

        lock (_lock)
        {
            _bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > FailWritesFrom)
        {
            throw FailWith();
        }

        lock (_lock)
        {
            data.CopyTo(_bytes.AsSpan((int)offset));
        }
    }

    public bool WriteZeroes(long offset, long length, bool fastOnly)
    {
        lock (_lock)
        {
            _bytes.AsSpan((int)offset, (int)length).Clear();
        }

        return true;
    }

    public void Trim(long offset, long length) => Interlocked.Increment(ref _trims);

    /// <summary>Runs of 4 KiB blocks that are all zero (reported as hole and zero) or not (data), as a sparse file would be.</summary>
    public IReadOnlyList<NbdExtent> BlockStatus(long offset, long length, int maxExtents)
    {
        const int block = 4096;
        var extents = new List<NbdExtent>();
        lock (_lock)
        {
            var end = offset + length;
            while (offset < end)
            {
                var next = Math.Min(end, ((offset / block) + 1) * block);
                var flags = _bytes.AsSpan((int)offset, (int)(next - offset)).IndexOfAnyExcept((byte)0) < 0
                    ? NbdExtentFlags.Hole | NbdExtentFlags.Zero
                    : NbdExtentFlags.Data;
                if (extents.Count > 0 && extents[^1].Flags == flags)
                {
                    extents[^1] = extents[^1] with { Length = extents[^1].Length + (next - offset) };
                }
                else if (extents.Count == maxExtents)
                {
                    break;
                }
                else
                {
                    extents.Add(new NbdExtent(next - offset, flags));
                }

                offset = next;
            }
        }

        return extents;
    }

    public void Flush() => Interlocked.Increment(ref _flushes);
}
