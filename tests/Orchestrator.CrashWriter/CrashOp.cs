using System.Globalization;

namespace Orchestrator.CrashWriter;

/// <summary>One writer operation: the journal line "op N offset length pattern" it is recorded as.</summary>
public readonly record struct CrashOp(long Number, CrashOpKind Kind, long Offset, long Length)
{
    public long End => Offset + Length;

    public string PatternToken => Kind == CrashOpKind.Zeroes ? "zero" : "data";

    public string ToJournalLine() =>
        string.Create(CultureInfo.InvariantCulture, $"op {Number} {Offset} {Length} {PatternToken}");

    public override string ToString() => ToJournalLine();
}
