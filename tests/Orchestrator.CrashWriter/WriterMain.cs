using System.Globalization;
using System.Text;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.CrashWriter;

/// <summary>
/// CrashWriter &lt;top.qcow2&gt; &lt;seed&gt; [--direct] [--ops N]: opens the chain with a writable top and performs the
/// seeded operations of <see cref="CrashOpGenerator"/> until killed (or N ops, then exits 0), journaling each one.
/// Prints "ready" once the journal header is durable. Exit 2 when the library throws, 1 on bad arguments.
/// </summary>
internal static class WriterMain
{
    public static int Run(string[] args)
    {
        var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var direct = args.Contains("--direct");
        var opsIndex = Array.IndexOf(args, "--ops");
        long maxOps = long.MaxValue;
        if (positional.Count < 2 || !int.TryParse(positional[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            || (opsIndex >= 0 && (opsIndex + 1 >= args.Length || !long.TryParse(args[opsIndex + 1], CultureInfo.InvariantCulture, out maxOps))))
        {
            Console.Error.WriteLine("usage: CrashWriter <top.qcow2> <seed> [--direct] [--ops N]");
            return 1;
        }

        try
        {
            Write(positional[0], seed, direct, maxOps);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"CrashWriter: {e}");
            return 2;
        }
    }

    private static void Write(string top, int seed, bool direct, long maxOps)
    {
        using var chain = ImageChain.Open(top, new ChainOpenOptions
        {
            WritableTop = true,
            TopCache = direct ? CacheMode.Direct : CacheMode.PageCache,
        });
        var generator = new CrashOpGenerator(seed, chain.VirtualSize, chain.Top.ClusterSize);

        // Unbuffered: every line is one write(2), so a SIGKILL leaves whole lines plus at most one torn line.
        using var journal = new FileStream(CrashJournal.PathFor(top), FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        Append(journal, CrashJournal.HeaderLine(seed, chain.VirtualSize, chain.Top.ClusterSize, direct, generator.FlushEvery), sync: true);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();

        var buffer = new byte[generator.MaxLength];
        for (var n = 1L; n <= maxOps; n++)
        {
            var op = generator.Next();
            if (op.Kind == CrashOpKind.Data)
            {
                var data = buffer.AsSpan(0, (int)op.Length);
                CrashPattern.Fill(seed, op.Number, op.Offset, data);
                chain.Write(op.Offset, data);
            }
            else
            {
                chain.WriteZeroes(op.Offset, op.Length);
            }

            if (op.Number % generator.FlushEvery == 0)
            {
                // Acknowledged durable: the flush has returned before the journal says so.
                chain.Flush();
                Append(journal, op.ToJournalLine() + "\n" + CrashJournal.DurableLine(op.Number), sync: true);
            }
            else
            {
                Append(journal, op.ToJournalLine(), sync: false);
            }
        }

        chain.Flush();
        Append(journal, CrashJournal.DurableLine(maxOps) + "\n" + CrashJournal.DoneLine(maxOps), sync: true);
    }

    private static void Append(FileStream journal, string lines, bool sync)
    {
        journal.Write(Encoding.ASCII.GetBytes(lines + "\n"));
        if (sync)
        {
            journal.Flush(flushToDisk: true);
        }
    }
}
