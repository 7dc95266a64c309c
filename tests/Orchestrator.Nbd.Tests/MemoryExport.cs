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

    public string Name { get; } = name;

    public long Size => _bytes.Length;

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

    public void Read(long offset, Span<byte> buffer)
    {
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

    public void WriteZeroes(long offset, long length)
    {
        lock (_lock)
        {
            _bytes.AsSpan((int)offset, (int)length).Clear();
        }
    }

    public void Flush() => Interlocked.Increment(ref _flushes);
}
