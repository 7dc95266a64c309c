namespace Orchestrator.Interop.Tests;

/// <summary>
/// A seeded mix of writes that stresses the allocating write path: aligned, byte-granular, inside one cluster,
/// across cluster boundaries, zero writes, overwrites of earlier writes, and writes aimed at "hot" ranges
/// (compressed or zero clusters that the chain already has).
/// </summary>
public sealed class WritePlanner(Random rng, long virtualSize, int clusterSize, IReadOnlyList<(long Start, long Length)> hotRanges)
{
    // Keeps a 2 MiB-cluster case from writing the whole disk in a few operations.
    private readonly long _maxSpan = Math.Max(2L * clusterSize, 256 * 1024);
    private readonly List<WriteOp> _ops = [];

    public IReadOnlyList<WriteOp> Plan(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var roll = rng.Next(100);
            var zeroes = roll < 22;
            var (offset, length, why) = rng.Next(8) switch
            {
                0 => Aligned(),
                1 => Unaligned(),
                2 => InsideOneCluster(),
                3 => AcrossBoundary(),
                4 or 5 when hotRanges.Count > 0 => IntoHotRange(),
                6 when _ops.Count > 0 => Overwrite(),
                _ => rng.Next(2) == 0 ? Aligned() : AcrossBoundary(),
            };
            length = Math.Max(1, Math.Min(length, virtualSize - offset));
            var pattern = (byte)rng.Next(1, 256);
            _ops.Add(new WriteOp(zeroes, offset, length, pattern, why));
        }

        return _ops;
    }

    private (long, long, string) Aligned()
    {
        var clusters = (virtualSize + clusterSize - 1) / clusterSize;
        var first = rng.NextInt64(clusters);
        var count = 1 + rng.NextInt64(Math.Max(1, Math.Min(_maxSpan / clusterSize, clusters - first)));
        return (first * clusterSize, count * clusterSize, "aligned");
    }

    private (long, long, string) Unaligned()
    {
        var offset = rng.NextInt64(virtualSize);
        return (offset, 1 + rng.NextInt64(_maxSpan), "byte-granular");
    }

    private (long, long, string) InsideOneCluster()
    {
        var cluster = rng.NextInt64((virtualSize + clusterSize - 1) / clusterSize) * clusterSize;
        var start = rng.Next(clusterSize - 1);
        var length = 1 + rng.Next(clusterSize - start - 1);
        return (Math.Min(cluster + start, virtualSize - 1), length, "inside one cluster");
    }

    private (long, long, string) AcrossBoundary()
    {
        var boundary = clusterSize * (1 + rng.NextInt64(Math.Max(1, (virtualSize / clusterSize) - 1)));
        var before = 1 + rng.Next(Math.Min(clusterSize, 8192));
        var after = 1 + rng.Next(Math.Min(clusterSize, 8192));
        var start = Math.Max(0, boundary - before);
        return (Math.Min(start, virtualSize - 1), before + after, "across a cluster boundary");
    }

    private (long, long, string) IntoHotRange()
    {
        var (start, length) = hotRanges[rng.Next(hotRanges.Count)];
        if (rng.Next(3) == 0)
        {
            return (start, Math.Min(length, _maxSpan), "whole compressed/zero range");
        }

        var offset = start + rng.NextInt64(length);
        return (offset, 1 + rng.Next(Math.Max(1, clusterSize + 1000)), "part of a compressed/zero range");
    }

    private (long, long, string) Overwrite()
    {
        var earlier = _ops[rng.Next(_ops.Count)];
        var shift = rng.NextInt64(-Math.Min(earlier.Offset, 4096), 4097);
        return (Math.Clamp(earlier.Offset + shift, 0, virtualSize - 1), 1 + rng.NextInt64(earlier.Length + 4096), "overwrite of an earlier write");
    }
}
