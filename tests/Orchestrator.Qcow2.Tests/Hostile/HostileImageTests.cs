using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Thousands of mutated copies of small valid images, each opened read-only (extent walk, chain read, map,
/// check) and writable (a few writes and a flush). Only <see cref="Qcow2Exception"/> may escape, nothing may
/// hang, and writes must stay inside the image's valid area. See <see cref="MutantRunner"/> for the invariants.
/// </summary>
public sealed class HostileImageTests(BaseImageSet bases, ITestOutputHelper output) : IClassFixture<BaseImageSet>
{
    /// <summary>Replays one mutant index of every family (with the same ORCH_TEST_SEED).</summary>
    public const string OnlyVariable = "ORCH_FUZZ_ONLY";

    /// <summary>Multiplies the mutants per family, for longer soak runs (default 1).</summary>
    public const string ScaleVariable = "ORCH_FUZZ_SCALE";

    private const int MutantsPerFamily = 600;
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan _replayTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Slow or hung mutants after which a family stops: enough to report, without stretching a failing run for minutes.</summary>
    private const int MaxSlowPerFamily = 2;

    public static TheoryData<MutationFamily> Families => new(Enum.GetValues<MutationFamily>());

    [Theory]
    [MemberData(nameof(Families))]
    public void OnlyQcow2ExceptionEscapesAndNothingHangsOrWritesOutOfRange(MutationFamily family)
    {
        var seed = RandomChainBuilder.ChooseSeed();
        output.WriteLine($"{family}: seed={seed} (set {RandomChainBuilder.SeedVariable}={seed} to reproduce)");
        var report = new FuzzReport(seed, family);
        var indexes = MutantIndexes();
        using var root = new TempDirectory($"qcow2-fuzz-{family}");
        var freeDirs = new ConcurrentBag<string>();
        var stopwatch = Stopwatch.StartNew();
        var replayLock = new Lock();

        Parallel.ForEach(indexes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, (index, state) =>
        {
            if (report.SlowCount >= MaxSlowPerFamily)
            {
                // The library is slow or hangs on this family; more of the same would only stretch the run.
                state.Stop();
                return;
            }

            var mutant = Prepare(MutantSeed(seed, family, index), family);
            var repro = new Repro(seed, family, index, mutant.Base.Name, mutant.Steps);
            if (!freeDirs.TryTake(out var dir))
            {
                dir = Directory.CreateDirectory(Path.Combine(root.Path, Guid.NewGuid().ToString("N")[..8])).FullName;
            }

            var watch = Stopwatch.StartNew();
            var (findings, phase, _) = RunWithTimeout(dir, mutant, _timeout);
            if (findings is null)
            {
                // A busy machine can stall one mutant: replay it alone. Within the limit alone = load; slower = a bug
                // (quadratic work on a small hostile file); not finishing at all = a hang. The stalled thread may still
                // touch its folder, so neither folder is reused.
                var replayDir = Directory.CreateDirectory(Path.Combine(root.Path, Guid.NewGuid().ToString("N")[..8])).FullName;
                lock (replayLock)
                {
                    var alone = Stopwatch.StartNew();
                    (findings, var replayPhase, var qemu) = RunWithTimeout(replayDir, Prepare(MutantSeed(seed, family, index), family), _replayTimeout);
                    if (findings is null)
                    {
                        report.AddSlow(repro, $"timeout: not finished after {_replayTimeout.TotalSeconds:0} s alone, in '{replayPhase}' (likely a hang)");
                        return;
                    }

                    if (alone.Elapsed - qemu > _timeout)
                    {
                        var phases = string.Join(", ", findings.PhaseTimes.OrderByDescending(p => p.Value).Take(3).Select(p => $"{p.Key} {p.Value.TotalSeconds:0.0} s"));
                        report.AddSlow(repro, $"too slow: {(alone.Elapsed - qemu).TotalSeconds:0.0} s alone, qemu-img's cross-check not counted (limit {_timeout.TotalSeconds:0} s) on a small file; slowest phases: {phases}");
                        return;
                    }

                    findings.Note($"over {_timeout.TotalSeconds:0} s under parallel load (in '{phase}'), {alone.Elapsed.TotalSeconds:0.0} s when replayed alone", "");
                }
            }

            report.Add(repro, findings, watch.Elapsed);
            freeDirs.Add(dir);
        });

        output.WriteLine($"{indexes.Count} mutants in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(report.Summary());
        if (report.FailureGroups > 0)
        {
            output.WriteLine(report.Failures());
        }

        Assert.True(report.FailureGroups == 0, report.Failures());
    }

    /// <summary>
    /// Picks the base and mutates it. The returned generator continues the same sequence, so the runner's own
    /// choices (write window, data) are part of the replay too.
    /// </summary>
    private (BaseImage Base, byte[] Bytes, IReadOnlyList<string> Steps, Random Rng) Prepare(int mutantSeed, MutationFamily family)
    {
        var rng = new Random(mutantSeed);
        var baseImage = PickBase(family, rng);
        var (bytes, steps) = new Mutator(rng, baseImage).Mutate(family);
        return (baseImage, bytes, steps, rng);
    }

    /// <summary>
    /// Runs one mutant on its own thread; null findings when it did not finish in time (with the phase it was in). The
    /// time qemu-img's cross-check takes is QEMU's, so it is added to the limit; the library's work alone is limited.
    /// </summary>
    private static (MutantFindings? Findings, string Phase, TimeSpan Qemu) RunWithTimeout(
        string dir, (BaseImage Base, byte[] Bytes, IReadOnlyList<string> Steps, Random Rng) mutant, TimeSpan limit)
    {
        var runner = new MutantRunner(dir, mutant.Base, mutant.Bytes, mutant.Rng);
        var clock = Stopwatch.StartNew();
        var work = Task.Factory.StartNew(runner.Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        while (!work.Wait(TimeSpan.FromMilliseconds(50)))
        {
            if (clock.Elapsed - runner.QemuTime > limit)
            {
                return (null, runner.Phase, runner.QemuTime);
            }
        }

        return (work.Result, runner.Phase, runner.QemuTime);
    }

    private static List<int> MutantIndexes()
    {
        var only = Environment.GetEnvironmentVariable(OnlyVariable);
        if (!string.IsNullOrWhiteSpace(only))
        {
            return [int.Parse(only, CultureInfo.InvariantCulture)];
        }

        var scaleText = Environment.GetEnvironmentVariable(ScaleVariable);
        var scale = string.IsNullOrWhiteSpace(scaleText) ? 1.0 : double.Parse(scaleText, CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, Math.Max(1, (int)(MutantsPerFamily * scale)))];
    }

    private BaseImage PickBase(MutationFamily family, Random rng)
    {
        // Real snapshot tables live in one base; the others get forged tables half as often.
        if (family == MutationFamily.Snapshots && rng.Next(2) == 0)
        {
            return bases["snapshot-64k"];
        }

        return bases.Images[rng.Next(bases.Images.Count)];
    }

    /// <summary>A per-mutant seed that does not depend on run order or thread timing.</summary>
    private static int MutantSeed(int seed, MutationFamily family, int index)
    {
        var x = ((ulong)(uint)seed << 32) ^ ((ulong)family << 24) ^ (uint)index;
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (int)((x ^ (x >> 31)) & 0x7FFF_FFFF);
    }
}
