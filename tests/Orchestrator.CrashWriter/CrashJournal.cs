using System.Globalization;

namespace Orchestrator.CrashWriter;

/// <summary>
/// The writer's journal, <c>&lt;top&gt;.journal</c>: a header line, then "op N offset length pattern" after each
/// completed operation and "durable N" once a flush covering ops 1..N has returned. A torn last line is ignored.
/// </summary>
public sealed record CrashJournal(int Seed, long VirtualSize, int ClusterSize, bool Direct, int FlushEvery,
    IReadOnlyList<CrashOp> Ops, long LastDurable, bool Done)
{
    public const string Suffix = ".journal";

    public static string PathFor(string top) => top + Suffix;

    /// <summary>Number of the last completed (journaled) operation; 0 when none.</summary>
    public long LastCompleted => Ops.Count == 0 ? 0 : Ops[^1].Number;

    public static string HeaderLine(int seed, long virtualSize, int clusterSize, bool direct, int flushEvery) =>
        string.Create(CultureInfo.InvariantCulture,
            $"writer seed {seed} size {virtualSize} cluster {clusterSize} cache {(direct ? "direct" : "page")} flush-every {flushEvery}");

    public static string DurableLine(long number) => string.Create(CultureInfo.InvariantCulture, $"durable {number}");

    public static string DoneLine(long number) => string.Create(CultureInfo.InvariantCulture, $"done {number}");

    public static CrashJournal Read(string path)
    {
        var text = File.ReadAllText(path);

        // Only newline-terminated lines were written whole; a kill can cut the last one short.
        var complete = text[..(text.LastIndexOf('\n') + 1)];
        var lines = complete.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            throw new InvalidDataException($"journal {path} has no header line");
        }

        var h = lines[0].Split(' ');
        if (h.Length != 11 || h[0] != "writer")
        {
            throw new InvalidDataException($"journal {path}: bad header '{lines[0]}'");
        }

        var ops = new List<CrashOp>();
        long durable = 0;
        var done = false;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ');
            switch (f[0])
            {
                case "op" when f.Length == 5:
                    var kind = f[4] == "zero" ? CrashOpKind.Zeroes : CrashOpKind.Data;
                    ops.Add(new CrashOp(Long(f[1]), kind, Long(f[2]), Long(f[3])));
                    break;
                case "durable" when f.Length == 2:
                    durable = Long(f[1]);
                    break;
                case "done" when f.Length == 2:
                    done = true;
                    break;
                default:
                    throw new InvalidDataException($"journal {path}: bad line '{line}'");
            }
        }

        return new CrashJournal((int)Long(h[2]), Long(h[4]), (int)Long(h[6]), h[8] == "direct", (int)Long(h[10]), ops, durable, done);
    }

    private static long Long(string text) => long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
}
