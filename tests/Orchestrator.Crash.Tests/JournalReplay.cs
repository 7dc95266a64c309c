using System.Globalization;
using Orchestrator.CrashWriter;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// The guest content a killed writer may leave. Ops 1..D (D = the last "durable D") must be there exactly:
/// the baseline overlaid with them in order. Ops after D (journaled but not flushed, plus the one in flight)
/// may or may not have landed, so a byte they cover may also hold one of their values; every other byte must
/// match the durable state. Byte granularity, because a kill can tear a write at a page boundary.
/// </summary>
internal sealed class JournalReplay
{
    private const int MaxReported = 8;
    private readonly int _seed;
    private readonly byte[] _durable;
    private readonly List<CrashOp> _pending;
    private readonly List<CrashOp> _durableOps;

    public JournalReplay(int seed, byte[] baseline, IReadOnlyList<CrashOp> ops, long lastDurable)
    {
        _seed = seed;
        _durable = (byte[])baseline.Clone();
        foreach (var op in ops.Where(o => o.Number <= lastDurable))
        {
            Apply(op, _durable);
        }

        _pending = ops.Where(o => o.Number > lastDurable).ToList();
        _durableOps = ops.Where(o => o.Number <= lastDurable).ToList();
    }

    /// <summary>The ops that may or may not be visible.</summary>
    public IReadOnlyList<CrashOp> Pending => _pending;

    /// <summary>Descriptions of the byte ranges that are neither the durable state nor a pending op's bytes; empty when all is well.</summary>
    public List<string> FindViolations(byte[] actual)
    {
        var problems = new List<string>();
        if (actual.Length != _durable.Length)
        {
            problems.Add($"guest size {actual.Length} differs from the model's {_durable.Length}");
            return problems;
        }

        const int chunk = 4096;
        long badStart = -1;
        long badBytes = 0;
        var regions = 0;
        for (long c = 0; c < actual.Length; c += chunk)
        {
            var n = (int)Math.Min(chunk, actual.Length - c);
            if (actual.AsSpan((int)c, n).SequenceEqual(_durable.AsSpan((int)c, n)) && badStart < 0)
            {
                continue;
            }

            for (var i = c; i < c + n; i++)
            {
                var bad = actual[i] != _durable[i] && !MatchesPending(i, actual[i]);
                if (bad)
                {
                    badBytes++;
                    if (badStart < 0)
                    {
                        badStart = i;
                    }
                }
                else if (badStart >= 0)
                {
                    Report(problems, actual, badStart, i, ref regions);
                    badStart = -1;
                }
            }
        }

        if (badStart >= 0)
        {
            Report(problems, actual, badStart, actual.Length, ref regions);
        }

        if (regions > MaxReported)
        {
            problems.Add($"... {regions - MaxReported} more bad region(s)");
        }

        if (badBytes > 0)
        {
            problems.Insert(0, $"{badBytes} byte(s) in {regions} region(s) match neither the durable state nor any pending op");
        }

        return problems;
    }

    /// <summary>Pending ops whose every byte reads as written (informational: a kill loses no page cache).</summary>
    public int CountFullyVisiblePending(byte[] actual) =>
        _pending.Count(op => Enumerable.Range(0, (int)op.Length).All(k => actual[op.Offset + k] == ValueAt(op, op.Offset + k)));

    private bool MatchesPending(long offset, byte value) =>
        _pending.Any(op => offset >= op.Offset && offset < op.End && ValueAt(op, offset) == value);

    private byte ValueAt(CrashOp op, long offset) => op.Kind == CrashOpKind.Zeroes ? (byte)0 : CrashPattern.At(_seed, op.Number, offset);

    private void Apply(CrashOp op, byte[] image)
    {
        var target = image.AsSpan((int)op.Offset, (int)op.Length);
        if (op.Kind == CrashOpKind.Zeroes)
        {
            target.Clear();
        }
        else
        {
            CrashPattern.Fill(_seed, op.Number, op.Offset, target);
        }
    }

    private void Report(List<string> problems, byte[] actual, long start, long end, ref int regions)
    {
        regions++;
        if (regions > MaxReported)
        {
            return;
        }

        var covering = _pending.Where(op => op.Offset < end && op.End > start).Select(op => op.Number.ToString(CultureInfo.InvariantCulture));
        var lastDurable = _durableOps.LastOrDefault(op => op.Offset <= start && op.End > start);
        problems.Add(string.Create(CultureInfo.InvariantCulture,
            $"guest bytes [{start}, {end}) (length {end - start}): expected 0x{_durable[start]:x2} "
            + $"(last written by {(lastDurable.Number == 0 ? "the baseline" : lastDurable.ToString())}), read 0x{actual[start]:x2}; "
            + $"pending ops overlapping: [{string.Join(", ", covering)}]"));    }
}
