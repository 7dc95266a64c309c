using System.Collections.Concurrent;
using System.Text;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Collects findings of a whole run, grouped by signature, keeping the simplest reproduction of each
/// (fewest mutation steps) so a failure message is short and actionable.
/// </summary>
internal sealed class FuzzReport(int seed, MutationFamily family)
{
    private readonly ConcurrentDictionary<string, Group> _failures = new();
    private readonly ConcurrentDictionary<string, Group> _notes = new();
    private readonly ConcurrentDictionary<string, int> _tags = new();
    private long _mutants;
    private long _slowestTicks;
    private string _slowest = "";

    public int FailureGroups => _failures.Count;

    private int _slow;

    /// <summary>Mutants that hung or were too slow even when run alone.</summary>
    public int SlowCount => Volatile.Read(ref _slow);

    public void Add(Repro repro, MutantFindings findings, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _mutants);
        foreach (var tag in findings.Tags)
        {
            _tags.AddOrUpdate(tag, 1, (_, n) => n + 1);
        }

        foreach (var (signature, detail) in findings.Failures)
        {
            Record(_failures, signature, detail, repro);
        }

        foreach (var (signature, detail) in findings.Notes)
        {
            Record(_notes, signature, detail, repro);
        }

        lock (_failures)
        {
            if (elapsed.Ticks > _slowestTicks)
            {
                _slowestTicks = elapsed.Ticks;
                var phases = findings.PhaseTimes.Where(p => p.Value.TotalMilliseconds >= 1).OrderByDescending(p => p.Value)
                    .Select(p => $"{p.Key} {p.Value.TotalMilliseconds:0} ms");
                _slowest = $"{elapsed.TotalMilliseconds:0} ms ({string.Join(", ", phases)}): {repro}";
            }
        }
    }

    public void AddSlow(Repro repro, string what)
    {
        Interlocked.Increment(ref _mutants);
        Interlocked.Increment(ref _slow);
        var signature = what.Split(':')[0] + " on a hostile file";
        Record(_failures, signature, what, repro);
    }

    public string Summary()
    {
        var text = new StringBuilder();
        text.AppendLine($"{family}: {_mutants} mutants, seed={seed} (ORCH_TEST_SEED={seed} reproduces); slowest {_slowest}");
        text.AppendLine("  outcomes: " + string.Join(", ", _tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")));
        foreach (var (signature, group) in _notes.OrderByDescending(g => g.Value.Count))
        {
            text.AppendLine($"  note x{group.Count}: {signature}");
            text.AppendLine($"    e.g. {group.Repro}: {FirstLine(group.Detail)}");
        }

        return text.ToString();
    }

    public string Failures()
    {
        var text = new StringBuilder();
        text.AppendLine($"{_failures.Count} distinct failure(s) in {_mutants} {family} mutants; seed={seed} (set ORCH_TEST_SEED={seed} to replay, ORCH_FUZZ_ONLY=<mutant> to run one):");
        foreach (var (signature, group) in _failures.OrderByDescending(g => g.Value.Count))
        {
            text.AppendLine($"--- x{group.Count}: {signature}");
            text.AppendLine($"    simplest: {group.Repro}");
            foreach (var line in group.Detail.Split('\n').Take(12))
            {
                text.AppendLine("    " + line.TrimEnd());
            }
        }

        return text.ToString();
    }

    private static void Record(ConcurrentDictionary<string, Group> groups, string signature, string detail, Repro repro)
    {
        groups.AddOrUpdate(signature, _ => new Group(1, repro, detail), (_, g) =>
            repro.Steps.Count < g.Repro.Steps.Count ? new Group(g.Count + 1, repro, detail) : g with { Count = g.Count + 1 });
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private sealed record Group(int Count, Repro Repro, string Detail);
}
