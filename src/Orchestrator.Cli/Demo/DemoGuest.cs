using System.Diagnostics;

namespace Orchestrator.Cli.Demo;

/// <summary>
/// A guest writing to the disk through the node's NBD export while jobs run: random 4..64 KiB writes at random 4 KiB
/// offsets, one request at a time (QD1), a flush every 16 writes, each write recorded in the model only once the server
/// acknowledged it. Keeps every write's latency for the summary.
/// </summary>
public sealed class DemoGuest(NbdGuestClient nbd, GuestModel model, int seed)
{
    private readonly List<double> _latenciesMs = [];
    private readonly Random _random = new(seed);
    private long _bytes;

    public int Writes => _latenciesMs.Count;

    public long Bytes => _bytes;

    /// <summary>Writes until <paramref name="stop"/> fires, then flushes; the task's exception is the guest's error.</summary>
    public Task RunAsync(CancellationToken stop) => Task.Run(() =>
    {
        var buffer = new byte[64 * 1024];
        var clock = new Stopwatch();
        while (!stop.IsCancellationRequested)
        {
            var blocks = _random.Next(1, 17);
            var offset = _random.NextInt64(0, (model.Size / GuestModel.BlockSize) - blocks) * GuestModel.BlockSize;
            var length = blocks * GuestModel.BlockSize;
            var value = (byte)_random.Next(1, 256);
            buffer.AsSpan(0, length).Fill(value);
            clock.Restart();
            nbd.Write(offset, buffer.AsSpan(0, length));
            _latenciesMs.Add(clock.Elapsed.TotalMilliseconds);
            model.GuestWrote(offset, length, value);
            _bytes += length;
            if (_latenciesMs.Count % 16 == 0)
            {
                nbd.Flush();
            }

            // A guest that also thinks: about 500 writes a second at most, so the copy has the device too.
            Thread.Sleep(2);
        }

        nbd.Flush();
    }, CancellationToken.None);

    /// <summary>The write latency at percentile <paramref name="p"/> (0..100), in milliseconds.</summary>
    public double Percentile(double p)
    {
        if (_latenciesMs.Count == 0)
        {
            return 0;
        }

        var sorted = _latenciesMs.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p / 100 * sorted.Count) - 1)];
    }
}
