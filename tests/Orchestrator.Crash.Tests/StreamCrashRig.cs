using System.Diagnostics;
using System.Globalization;
using Orchestrator.Testing;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// A chain A &lt;- B &lt;- C &lt;- D built by qemu-io, a pristine copy of the top D to restore before every run,
/// and the reference raw of D's guest content. Runs `orchestrator image stream --base A D` and checks the result.
/// </summary>
internal sealed class StreamCrashRig : IDisposable
{
    private static readonly TimeSpan _streamTimeout = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _dir = new("crash-stream");
    private readonly BuiltChain _chain;
    private readonly string _pristine;
    private readonly string _reference;
    private readonly string _cache;

    public StreamCrashRig(int clusterSize, long virtualSize, string cache, bool compatV2, bool shorterBacking, int seed, Action<string> log)
    {
        _cache = cache;
        var spec = new ChainSpec
        {
            Layers = 3,
            VirtualSize = virtualSize,
            ClusterSize = clusterSize,
            WritesPerLayer = 128,
            Compat = compatV2 ? ChainCompat.V2 : ChainCompat.V3,
            ShorterBackingFiles = shorterBacking,
        };
        _chain = new RandomChainBuilder(seed, WriterCrashRig.Quiet(log)).Build(_dir.Path, spec);

        // The top is a fresh overlay with a little data of its own, as after a snapshot: the stream has to copy most
        // of B and C into it, so it runs for a while and (with small clusters) grows the top's refcount table itself.
        Top = _dir.Combine("D.qcow2");
        QemuTools.Create(Top, virtualSize, clusterSize, Path.GetFileName(_chain.Top), compatV2, _dir.Path);
        var rng = new Random(seed);
        var commands = new List<string>();
        for (var w = 0; w < 8; w++)
        {
            var offset = rng.NextInt64(virtualSize / 512 - 1024) * 512;
            var verb = w == 7 ? "write -z" : $"write -P {rng.Next(1, 256)}";
            commands.Add(string.Create(CultureInfo.InvariantCulture, $"{verb} {offset} {512 * (1 + rng.Next(1024))}"));
        }

        QemuTools.Io([.. commands.SelectMany(c => new[] { "-c", c }).Prepend("qcow2").Prepend("-f").Append(Top)]).EnsureSuccess();
        var (exit, output) = QemuChain.Check(Top);
        if (exit != 0)
        {
            throw new InvalidOperationException($"the chain qemu-io built is not clean before streaming: {output}");
        }

        _reference = _dir.Combine("reference.raw");
        QemuTools.ConvertToRaw(Top, _reference);
        _pristine = Top + ".pristine";
        File.Copy(Top, _pristine);
    }

    public string Top { get; }

    public string Base => _chain.Bottom;

    public string Directory => _dir.Path;

    public IReadOnlyList<string> UnchangedChain => [.. _chain.ImagePaths.Append(Top).Reverse().Select(Path.GetFileName).OfType<string>()];

    public IReadOnlyList<string> StreamedChain => [Path.GetFileName(Top), Path.GetFileName(Base)];

    public void RestoreTop() => File.Copy(_pristine, Top, overwrite: true);

    public KillableProcess StartStream() =>
        KillableProcess.Start(ChildPrograms.Dotnet, StreamArgs(), _chain.Directory);

    /// <summary>How long the CLI takes to start and open the chain (image info), so kills are spread over the copying.</summary>
    public TimeSpan MeasureStartup()
    {
        var clock = Stopwatch.StartNew();
        ProcessRunner.Run(ChildPrograms.Dotnet, [ChildPrograms.OrchestratorDll, "image", "info", Top], _chain.Directory).EnsureSuccess();
        return clock.Elapsed;
    }

    /// <summary>Runs the stream to completion; returns its exit code, stderr and how long it took.</summary>
    public (int ExitCode, string StdErr, TimeSpan Elapsed) RunStream()
    {
        var clock = Stopwatch.StartNew();
        var result = ProcessRunner.Run(ChildPrograms.Dotnet, StreamArgs(), _chain.Directory, _streamTimeout);
        return (result.ExitCode, result.StdErr, clock.Elapsed);
    }

    private List<string> StreamArgs() =>
        [ChildPrograms.OrchestratorDll, "image", "stream", "--base", Base, "--batch-size", "1M", "-t", _cache, "-q", Top];

    /// <summary>The top file's length in bytes, for the log.</summary>
    public long TopFileLength => new FileInfo(Top).Length;

    /// <summary>The top's length in clusters (rounded up).</summary>
    public long TopEndCluster(int clusterSize) => (TopFileLength + clusterSize - 1) / clusterSize;

    /// <summary>
    /// What holds after a stream stopped anywhere: at most leaks; the guest content is the reference; the chain is
    /// the old one (before the commit point) or D -> A (after it). <paramref name="committed"/> tells which.
    /// </summary>
    public List<string> VerifyInterrupted(out bool committed, out int checkExit)
    {
        var problems = new List<string>();
        var names = QemuChain.Names(Top);
        committed = names.SequenceEqual(StreamedChain);
        if (!committed && !names.SequenceEqual(UnchangedChain))
        {
            problems.Add($"chain is {QemuChain.Describe(names)}; expected {QemuChain.Describe(UnchangedChain)} or {QemuChain.Describe(StreamedChain)}");
        }

        var (exit, output) = QemuChain.Check(Top);
        checkExit = exit;
        if (exit is not (0 or 3))
        {
            problems.Add($"qemu-img check exits {exit} (2 = corruption; only 0 or 3 = leaks are allowed):\n{output}");
        }

        var (compare, compareOutput) = QemuChain.CompareWithRaw(Top, _reference);
        if (compare != 0)
        {
            problems.Add($"the top's guest content differs from the pre-stream reference (chain {QemuChain.Describe(names)}):\n{compareOutput}");
        }

        return problems;
    }

    /// <summary>What holds after a stream ran to completion: clean, same content, D -> A.</summary>
    /// <param name="endClusterAfterKill">Where an earlier kill left the end of the file, for leak reports; -1 if none.</param>
    public List<string> VerifyComplete(long endClusterAfterKill = -1)
    {
        var problems = new List<string>();
        var names = QemuChain.Names(Top);
        if (!names.SequenceEqual(StreamedChain))
        {
            problems.Add($"after a complete stream the chain is {QemuChain.Describe(names)}, not {QemuChain.Describe(StreamedChain)}");
        }

        var (exit, output) = QemuChain.Check(Top);
        if (exit != 0)
        {
            var hint = exit == 3 && endClusterAfterKill >= 0 ? QemuChain.LeakHint(QemuChain.CheckFullOutput(Top), endClusterAfterKill) : string.Empty;
            problems.Add($"after a complete stream qemu-img check exits {exit}, not 0{hint}:\n{output}");
        }

        var (compare, compareOutput) = QemuChain.CompareWithRaw(Top, _reference);
        if (compare != 0)
        {
            problems.Add($"after a complete stream the guest content differs from the reference:\n{compareOutput}");
        }

        return problems;
    }

    public override string ToString() => _chain.Describe();

    public void Dispose() => _dir.Dispose();
}
