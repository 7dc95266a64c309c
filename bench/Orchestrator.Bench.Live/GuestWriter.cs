using System.Buffers.Binary;
using System.Diagnostics;
using Orchestrator.Engine;

namespace Orchestrator.Bench.Live;

/// <summary>
/// A guest at queue depth 1: 4 KiB writes at random 4 KiB-aligned offsets over the whole disk, one after another,
/// straight through the <see cref="LiveDisk"/> (no flushes, like fio's randwrite without fsync). Each write's start
/// and end are recorded (Stopwatch ticks), so any time window can be cut out afterwards.
/// </summary>
internal sealed class GuestWriter
{
    public const int BlockSize = 4096;
    private readonly LiveDisk _disk;
    private readonly long _blocks;
    private readonly Random _random;
    private readonly Thread _thread;
    private long[] _starts = new long[1 << 20];
    private long[] _ends = new long[1 << 20];
    private readonly Dictionary<long, long> _lastWrite = [];
    private byte[] _pattern = [];
    private volatile bool _stop;

    public GuestWriter(LiveDisk disk, long virtualSize, int seed)
    {
        _disk = disk;
        _blocks = virtualSize / BlockSize;
        _random = new Random(seed);
        _thread = new Thread(Run) { IsBackground = true, Name = "guest-writer" };
    }

    /// <summary>Writes completed (valid only after <see cref="Stop"/>).</summary>
    public int Count { get; private set; }

    public string? Error { get; private set; }

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        var data = new byte[BlockSize];
        _random.NextBytes(data);
        _pattern = (byte[])data.Clone();
        var n = 0;
        try
        {
            while (!_stop)
            {
                var offset = _random.NextInt64(0, _blocks) * BlockSize;
                BinaryPrimitives.WriteInt64LittleEndian(data, n);
                var start = Stopwatch.GetTimestamp();
                _disk.Write(offset, data);
                var end = Stopwatch.GetTimestamp();
                if (n == _starts.Length)
                {
                    Array.Resize(ref _starts, n * 2);
                    Array.Resize(ref _ends, n * 2);
                }

                _starts[n] = start;
                _ends[n] = end;
                _lastWrite[offset] = n;
                n++;
            }
        }
        catch (Exception e)
        {
            Error = $"{e.GetType().Name}: {e.Message}";
        }

        Count = n;
    }

    /// <summary>
    /// Reads back every block the guest wrote (its last write wins) through <paramref name="read"/>; returns the number of
    /// blocks checked and how many did not hold the guest's data (a write lost or overwritten by the stream's copy).
    /// </summary>
    public (int Blocks, int Mismatches) VerifyWith(Action<long, byte[]> read)
    {
        var expected = (byte[])_pattern.Clone();
        var actual = new byte[BlockSize];
        var mismatches = 0;
        foreach (var (offset, n) in _lastWrite)
        {
            BinaryPrimitives.WriteInt64LittleEndian(expected, n);
            read(offset, actual);
            if (!actual.AsSpan().SequenceEqual(expected))
            {
                mismatches++;
            }
        }

        return (_lastWrite.Count, mismatches);
    }

    /// <summary>Latency of the writes that started and ended inside [from, to) (Stopwatch ticks).</summary>
    public LatencyStats Window(long from, long to)
    {
        var latencies = new List<double>();
        for (var i = 0; i < Count; i++)
        {
            if (_starts[i] >= from && _ends[i] <= to)
            {
                latencies.Add((_ends[i] - _starts[i]) * 1e6 / Stopwatch.Frequency);
            }
        }

        latencies.Sort();
        var seconds = (double)(to - from) / Stopwatch.Frequency;
        return new LatencyStats(latencies.Count, Percentile(latencies, 50), Percentile(latencies, 99),
            latencies.Count == 0 ? 0 : latencies[^1], seconds > 0 ? latencies.Count / seconds : 0);
    }

    /// <summary>Nearest-rank percentile of sorted values (fio reports the same kind).</summary>
    private static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}

internal sealed record LatencyStats(int Writes, double P50Us, double P99Us, double MaxUs, double Iops);
