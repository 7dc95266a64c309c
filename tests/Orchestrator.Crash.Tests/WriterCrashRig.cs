using System.Globalization;
using Orchestrator.CrashWriter;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// Runs CrashWriter against fresh tops over one shared backing chain and checks what a kill leaves behind.
/// Each method returns a list of problems (empty = pass) so one test can report every failing iteration at once.
/// </summary>
internal sealed class WriterCrashRig : IDisposable
{
    private static readonly TimeSpan _readyTimeout = TimeSpan.FromSeconds(60);
    private readonly WriterScenario _scenario;
    private readonly TempDirectory _dir = new("crash-writer");
    private readonly string _backing;

    public WriterCrashRig(WriterScenario scenario, int baseSeed, Action<string> log)
    {
        _scenario = scenario;
        var spec = new ChainSpec
        {
            Layers = 2,
            VirtualSize = scenario.VirtualSize,
            ClusterSize = scenario.BackingClusterSize,
            Compat = scenario.Compat == "0.10" ? ChainCompat.V2 : ChainCompat.V3,
            WritesPerLayer = 24,
        };
        _backing = new RandomChainBuilder(Seeds.Derive(baseSeed, 1), Quiet(log)).Build(_dir.Combine("backing"), spec).Top;
    }

    public string Directory => _dir.Path;

    /// <summary>
    /// The builder's log without its long qemu-io command lines, and without its own seed line: its seed is derived
    /// from the test's, so ORCH_TEST_SEED must be set to the test's seed, not the one it prints.
    /// </summary>
    public static Action<string> Quiet(Action<string> log) =>
        line =>
        {
            var trimmed = line.TrimStart();
            if (!trimmed.StartsWith("qemu-io:", StringComparison.Ordinal) && !trimmed.StartsWith("RandomChainBuilder:", StringComparison.Ordinal))
            {
                log(line);
            }
        };

    /// <summary>A new top over the backing chain, pre-filled by qemu-io; returns its path and its guest content.</summary>
    public (string Top, byte[] Baseline) CreateTop(string name, Random rng)
    {
        var folder = System.IO.Directory.CreateDirectory(_dir.Combine(name)).FullName;
        var top = Path.Combine(folder, "top.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", _scenario.CreateOptions, "-b", _backing, "-F", "qcow2", top,
            _scenario.VirtualSize.ToString(CultureInfo.InvariantCulture)).EnsureSuccess();
        var commands = PrefillCommands(top, rng);
        var args = commands.SelectMany(c => new[] { "-c", c }).Prepend("qcow2").Prepend("-f").Append(top).ToArray();
        QemuTools.Io(args).EnsureSuccess();
        var (exit, output) = QemuChain.Check(top);
        if (exit != 0)
        {
            throw new InvalidOperationException($"the pre-filled top is not clean before the writer ran: {output}");
        }

        var raw = Path.Combine(folder, "baseline.raw");
        QemuTools.ConvertToRaw(top, raw);
        var baseline = File.ReadAllBytes(raw);
        File.Delete(raw);
        return (top, baseline);
    }

    /// <summary>
    /// Compressed clusters (so overwrites free host clusters after a flush), a few ordinary and zero writes, and,
    /// when the refcount table is small, enough data to bring the file close to the end of what the table covers,
    /// so the writer soon has to grow it.
    /// </summary>
    private List<string> PrefillCommands(string top, Random rng)
    {
        var cs = _scenario.ClusterSize;
        var size = _scenario.VirtualSize;
        var commands = new List<string>();
        long tableClusters;
        using (var image = Qcow2Image.Open(top, ImageOpenOptions.ReadOnly()))
        {
            tableClusters = image.Header.RefcountTableClusters;
        }

        var coverage = tableClusters * (cs / 8) * ((long)cs * 8 / _scenario.RefcountBits) * cs;
        var growthFill = coverage < 4 * size ? Math.Min(coverage * 8 / 10, size * 45 / 100) / cs * cs : 0;
        var lowEnd = size - growthFill;

        // QEMU packs compressed clusters together; write them first, before anything is overwritten (see RandomChainBuilder).
        var clusters = lowEnd / cs;
        var used = new HashSet<long>();
        for (var run = 0; run < 3; run++)
        {
            var first = rng.NextInt64(clusters - 4);
            var count = 1 + rng.Next(4);
            for (var c = first; c < first + count; c++)
            {
                if (used.Add(c))
                {
                    commands.Add(Command($"write -c -P {rng.Next(1, 256)}", c * cs, cs));
                }
            }
        }

        for (var w = 0; w < 2; w++)
        {
            var offset = rng.NextInt64(lowEnd / 512) * 512;
            var length = Math.Min(512 * (1 + rng.NextInt64(2 * cs / 512 + 256)), lowEnd - offset);
            commands.Add(Command($"write -P {rng.Next(1, 256)}", offset, length));
        }

        var zeroFirst = rng.NextInt64(clusters - 2);
        commands.Add(Command("write -z", zeroFirst * cs, 2L * cs));
        if (growthFill > 0)
        {
            commands.Add(Command($"write -P {rng.Next(1, 256)}", lowEnd, growthFill));
        }

        return commands;
    }

    private static string Command(string verb, long offset, long length) =>
        string.Create(CultureInfo.InvariantCulture, $"{verb} {offset} {length}");

    public static (long Offset, uint Clusters) RefcountTable(string top)
    {
        using var image = Qcow2Image.Open(top, ImageOpenOptions.ReadOnly());
        return (image.Header.RefcountTableOffset, image.Header.RefcountTableClusters);
    }

    public KillableProcess StartWriter(string top, int seed, long? ops = null)
    {
        var args = new List<string> { ChildPrograms.CrashWriterDll, top, seed.ToString(CultureInfo.InvariantCulture) };
        if (_scenario.Direct)
        {
            args.Add("--direct");
        }

        if (ops is { } n)
        {
            args.AddRange(["--ops", n.ToString(CultureInfo.InvariantCulture)]);
        }

        var writer = KillableProcess.Start(ChildPrograms.Dotnet, args, Path.GetDirectoryName(top)!);
        if (!writer.WaitReady(_readyTimeout))
        {
            writer.Kill();
            throw new InvalidOperationException(
                $"CrashWriter did not print 'ready' (exit {(writer.HasExited ? writer.ExitCode : -1)}): {writer.CommandLine}\n{writer.StdErr}");
        }

        return writer;
    }

    /// <summary>
    /// Everything the crash contract promises about a killed (or finished) writer's top: qemu-img check finds at
    /// most leaks; our writable open repairs them (check then 0); the guest content holds every durable op.
    /// </summary>
    public List<string> VerifyAfterWriter(string top, byte[] baseline, out string summary)
    {
        var problems = new List<string>();
        var journal = CrashJournal.Read(CrashJournal.PathFor(top));
        var generator = new CrashOpGenerator(journal.Seed, journal.VirtualSize, journal.ClusterSize);
        var ops = new List<CrashOp>();
        for (var n = 0L; n <= journal.LastCompleted; n++)
        {
            ops.Add(generator.Next());
        }

        if (journal.Done)
        {
            ops.RemoveAt(ops.Count - 1);
        }

        // The journal must be what the generator says; otherwise the model below would be checking the wrong thing.
        for (var i = 0; i < journal.Ops.Count; i++)
        {
            if (journal.Ops[i] != ops[i])
            {
                problems.Add($"journal line '{journal.Ops[i]}' differs from the regenerated '{ops[i]}' (writer and test disagree)");
                summary = "journal mismatch";
                return problems;
            }
        }

        var inFlight = journal.Done ? "none" : ops[^1].ToString();
        var (check1, check1Output) = QemuChain.Check(top);
        if (check1 is not (0 or 3))
        {
            problems.Add($"after the kill, qemu-img check exits {check1} (2 = corruption; only 0 or 3 = leaks are allowed):\n{check1Output}");
        }

        try
        {
            // A writable open runs our check and gives back leaked clusters.
            using var repaired = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true });
        }
        catch (Qcow2Exception e)
        {
            problems.Add($"our writable open (check + leak repair) refused the image: {e.Message}");
        }

        var (check2, check2Output) = QemuChain.Check(top);
        if (check2 != 0)
        {
            problems.Add($"after our writable open repaired leaks, qemu-img check exits {check2}, not 0:\n{check2Output}");
        }

        var rawPath = top + ".after.raw";
        QemuTools.ConvertToRaw(top, rawPath);
        var actual = File.ReadAllBytes(rawPath);
        File.Delete(rawPath);
        var ours = ReadWithOurLibrary(top, actual.Length, problems);
        if (ours is not null && !ours.AsSpan().SequenceEqual(actual))
        {
            var first = ours.AsSpan().CommonPrefixLength(actual);
            problems.Add($"our ImageChain.Read and qemu-img convert disagree about the guest content from byte {first}");
        }

        var replay = new JournalReplay(journal.Seed, baseline, ops, journal.LastDurable);
        foreach (var violation in replay.FindViolations(actual))
        {
            problems.Add($"content: {violation}");
        }

        var table = RefcountTable(top);
        summary = string.Create(CultureInfo.InvariantCulture,
            $"ops completed {journal.LastCompleted}, durable {journal.LastDurable} (flush every {journal.FlushEvery}), in flight: {inFlight}; "
            + $"check after kill {check1}, after repair {check2}; refcount table {table.Clusters} cluster(s) at {table.Offset}; "
            + $"pending ops fully visible {replay.CountFullyVisiblePending(actual)}/{replay.Pending.Count}");
        return problems;
    }

    /// <summary>
    /// The repaired image must keep working: a new, uninterrupted writer run on it must leave qemu-img check at 0.
    /// Leaks that the repair missed (for example clusters counted past the end of the file) surface here.
    /// </summary>
    public List<string> ContinueAfterRepair(string top, int seed, long endClusterAfterKill)
    {
        var problems = new List<string>();
        using (var writer = StartWriter(top, seed, ops: 30))
        {
            writer.WaitForExit(TimeSpan.FromMinutes(2));
            if (writer.ExitCode != 0)
            {
                problems.Add($"a second writer run (seed {seed}, 30 ops) on the repaired image exited {writer.ExitCode}: {writer.StdErr}");
                return problems;
            }
        }

        var (exit, output) = QemuChain.Check(top);
        if (exit != 0)
        {
            problems.Add($"after the repair and a second, uninterrupted writer run (seed {seed}, 30 ops), qemu-img check exits {exit}, not 0"
                + $"{QemuChain.LeakHint(QemuChain.CheckFullOutput(top), endClusterAfterKill)}:\n{output}");
        }

        return problems;
    }

    private static byte[]? ReadWithOurLibrary(string top, int length, List<string> problems)
    {
        try
        {
            using var chain = ImageChain.Open(top, new ChainOpenOptions());
            var buffer = new byte[length];
            for (var offset = 0; offset < length; offset += 1 << 20)
            {
                chain.Read(offset, buffer.AsSpan(offset, Math.Min(1 << 20, length - offset)));
            }

            return buffer;
        }
        catch (Qcow2Exception e)
        {
            problems.Add($"our library cannot read the image back: {e.Message}");
            return null;
        }
    }

    public void Dispose() => _dir.Dispose();
}
