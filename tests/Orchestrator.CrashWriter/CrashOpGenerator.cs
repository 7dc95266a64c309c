namespace Orchestrator.CrashWriter;

/// <summary>
/// The writer's endless, seeded sequence of operations. The tests build the same generator to learn which
/// operation was in flight when the writer was killed (the journal only names the completed ones).
/// The mix favours allocation: partial clusters (copy-on-write from the backing file), long multi-cluster runs
/// (several allocating calls, new L2 tables, new refcount blocks), zeroes, and some overwrites of recent ranges.
/// </summary>
public sealed class CrashOpGenerator
{
    private const int Sector = 512;
    private readonly Random _rng;
    private readonly long _virtualSize;
    private readonly int _clusterSize;
    private readonly long _maxSpan;
    private readonly List<(long Offset, long Length)> _recent = [];
    private long _number;

    public CrashOpGenerator(int seed, long virtualSize, int clusterSize)
    {
        if (virtualSize < 4L * clusterSize || virtualSize % Sector != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(virtualSize), virtualSize, "must be a multiple of 512 and at least 4 clusters");
        }

        _rng = new Random(seed);
        _virtualSize = virtualSize;
        _clusterSize = clusterSize;

        // At least 512 KiB so 512-byte-cluster runs exceed one allocating call (256 clusters) and span refcount blocks.
        _maxSpan = Math.Min(virtualSize / 2, Math.Max(8L * clusterSize, 512 * 1024));
        FlushEvery = 1 + _rng.Next(8);
    }

    /// <summary>The writer flushes (and journals "durable N") after every op whose number is a multiple of this.</summary>
    public int FlushEvery { get; }

    /// <summary>The largest length an operation can have, for buffer sizing.</summary>
    public long MaxLength => _maxSpan;

    public CrashOp Next()
    {
        _number++;
        var roll = _rng.Next(100);
        var kind = roll is >= 65 and < 85 || (roll >= 85 && _rng.Next(4) == 0) ? CrashOpKind.Zeroes : CrashOpKind.Data;
        var (offset, length) = roll switch
        {
            < 25 => PartialCluster(),
            < 45 => AlignedRun(),
            < 65 => UnalignedRun(),
            < 75 => AlignedRun(),
            < 85 => _rng.Next(2) == 0 ? PartialCluster() : UnalignedRun(),
            _ => Recent(),
        };

        _recent.Add((offset, length));
        if (_recent.Count > 16)
        {
            _recent.RemoveAt(0);
        }

        return new CrashOp(_number, kind, offset, length);
    }

    /// <summary>Inside one cluster or straddling two, at byte granularity: never cluster aligned at both ends.</summary>
    private (long, long) PartialCluster()
    {
        var offset = _rng.NextInt64(_virtualSize - 1);
        var length = 1 + _rng.NextInt64(Math.Min(_clusterSize + (_clusterSize / 2), Math.Min(_maxSpan, _virtualSize - offset)));
        if (offset % _clusterSize == 0 && (offset + length) % _clusterSize == 0)
        {
            length = Math.Max(1, length - 1);
        }

        return (offset, length);
    }

    private (long, long) AlignedRun()
    {
        var clusters = _virtualSize / _clusterSize;
        var first = _rng.NextInt64(clusters);
        var count = 1 + _rng.NextInt64(Math.Min(_maxSpan / _clusterSize, clusters - first));
        return (first * _clusterSize, count * _clusterSize);
    }

    private (long, long) UnalignedRun()
    {
        var offset = _rng.NextInt64(_virtualSize - 1);
        var length = 1 + _rng.NextInt64(Math.Min(_maxSpan, _virtualSize - offset));
        return (offset, length);
    }

    /// <summary>A range around a recent operation: in-place overwrites of clusters the top already has.</summary>
    private (long, long) Recent()
    {
        if (_recent.Count == 0)
        {
            return UnalignedRun();
        }

        var (offset, length) = _recent[_rng.Next(_recent.Count)];
        var start = Math.Max(0, offset + _rng.NextInt64(-_clusterSize, _clusterSize + 1));
        start = Math.Min(start, _virtualSize - 1);
        var newLength = Math.Clamp(length + _rng.NextInt64(-_clusterSize, _clusterSize + 1), 1, Math.Min(_maxSpan, _virtualSize - start));
        return (start, newLength);
    }
}
