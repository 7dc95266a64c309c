using System.Diagnostics;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>What running one mutant produced: failures (broken invariants), outcome tags for statistics, and soft notes.</summary>
internal sealed class MutantFindings
{
    public List<(string Signature, string Detail)> Failures { get; } = [];

    /// <summary>Outcome tags such as "ro-open:InvalidFormat" or "rw:writes-ok", counted across a run.</summary>
    public List<string> Tags { get; } = [];

    /// <summary>Doubtful but allowed behaviour (an Io error kind from a hostile file), reported without failing.</summary>
    public List<(string Signature, string Detail)> Notes { get; } = [];

    /// <summary>Time spent per library phase, shown for the slowest mutant of a run.</summary>
    public Dictionary<string, TimeSpan> PhaseTimes { get; } = [];

    public void Fail(string signature, string detail) => Failures.Add((signature, detail));

    public void Tag(string tag) => Tags.Add(tag);

    public void Note(string signature, string detail) => Notes.Add((signature, detail));

    /// <summary>
    /// The two innermost library frames of an exception's stack ("ImageFile.Read &lt;- RefcountTable.TryGetBlock"):
    /// what a bug signature is grouped by, so one low-level throw reached from two callers counts as two bugs.
    /// </summary>
    public static string LibraryFrame(Exception e)
    {
        var frames = new List<string>();
        foreach (var frame in new StackTrace(e, fNeedFileInfo: false).GetFrames())
        {
            var method = frame.GetMethod();
            var name = method?.DeclaringType?.FullName ?? "";
            if (name.StartsWith("Orchestrator.Qcow2.", StringComparison.Ordinal) && !name.StartsWith("Orchestrator.Qcow2.Tests", StringComparison.Ordinal))
            {
                frames.Add($"{name.Replace("Orchestrator.Qcow2.", "", StringComparison.Ordinal)}.{method!.Name}");
                if (frames.Count == 2)
                {
                    break;
                }
            }
        }

        return frames.Count == 0 ? "(no library frame)" : string.Join(" <- ", frames);
    }
}
