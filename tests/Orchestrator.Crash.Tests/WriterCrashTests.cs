using System.Diagnostics;
using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// CrashWriter SIGKILLed at random moments while it allocates: the top must need at most leak repair, every op
/// acknowledged durable must read back, and the repaired image must stay clean under further writes.
/// 512-byte clusters with a nearly full refcount table make the writer grow the table.
/// </summary>
public sealed class WriterCrashTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(65536, 16, 32, false, "1.1", 65536, 4)]
    [InlineData(65536, 16, 32, true, "1.1", 4096, 4)]
    [InlineData(65536, 16, 16, false, "0.10", 65536, 3)]
    [InlineData(4096, 16, 16, false, "1.1", 65536, 4)]
    [InlineData(4096, 16, 16, true, "1.1", 4096, 4)]
    [InlineData(512, 64, 8, false, "1.1", 4096, 5)]
    [InlineData(512, 64, 8, true, "1.1", 512, 4)]
    [InlineData(512, 16, 16, false, "1.1", 65536, 4)]
    public void KilledWriterLeavesAtMostLeaksAndKeepsDurableOps(
        int clusterSize, int refcountBits, int sizeMiB, bool direct, string compat, int backingClusterSize, int iterations)
    {
        var scenario = new WriterScenario(clusterSize, refcountBits, (long)sizeMiB << 20, direct, compat, backingClusterSize);
        var baseSeed = Seeds.Base();
        var scenarioSeed = Seeds.Derive(baseSeed, clusterSize, refcountBits, sizeMiB, direct ? 1 : 0, compat.Length);
        output.WriteLine($"seed {baseSeed} (ORCH_TEST_SEED={baseSeed} replays the ops and kill delays; kill timing itself varies); {scenario}");
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        var grown = 0;
        using var rig = new WriterCrashRig(scenario, scenarioSeed, output.WriteLine);
        for (var i = 0; i < iterations; i++)
        {
            var seed = Seeds.Derive(scenarioSeed, 2, i);
            var rng = new Random(seed);
            var (top, baseline) = rig.CreateTop($"iter-{i}", rng);
            var tableBefore = WriterCrashRig.RefcountTable(top);
            var delay = rng.Next(20, 801);
            using (var writer = rig.StartWriter(top, seed))
            {
                Thread.Sleep(delay);
                if (!writer.Kill())
                {
                    failures.Add($"iteration {i} (writer seed {seed}): the endless writer exited by itself with {writer.ExitCode}: {writer.StdErr}");
                    continue;
                }
            }

            var endCluster = (new FileInfo(top).Length + clusterSize - 1) / clusterSize;
            var problems = rig.VerifyAfterWriter(top, baseline, out var summary);
            var tableAfter = WriterCrashRig.RefcountTable(top);
            if (problems.Count == 0)
            {
                problems.AddRange(rig.ContinueAfterRepair(top, Seeds.Derive(seed, 6), endCluster));
            }

            grown += tableAfter.Clusters > tableBefore.Clusters ? 1 : 0;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"iteration {i}: writer seed {seed}, killed {delay} ms after ready; {summary}; refcount table {tableBefore.Clusters} -> {tableAfter.Clusters} cluster(s)"));
            if (problems.Count > 0)
            {
                failures.Add($"iteration {i} (writer seed {seed}, killed after {delay} ms, {top}):\n  " + string.Join("\n  ", problems));
                output.WriteLine("  FAILED:\n  " + string.Join("\n  ", problems));
            }
        }

        output.WriteLine($"{iterations} iterations in {clock.Elapsed.TotalSeconds:0.0} s; the refcount table grew in {grown} of them");
        Assert.True(failures.Count == 0,
            $"seed {baseSeed} ({scenario}): {failures.Count} of {iterations} killed writers left a bad image "
            + $"(rerun with ORCH_TEST_SEED={baseSeed} ORCH_KEEP_TEST_FILES=1 to keep {rig.Directory}):\n" + string.Join("\n", failures));
    }

    /// <summary>The control: without a kill the writer must leave a clean image with every op, so a crash failure is the crash's.</summary>
    [Theory]
    [InlineData(65536, 16, 32, false, "1.1", 4096, 120)]
    [InlineData(4096, 16, 16, true, "1.1", 65536, 150)]
    [InlineData(512, 64, 8, false, "1.1", 4096, 200)]
    public void UninterruptedWriterLeavesCleanImageWithEveryOp(
        int clusterSize, int refcountBits, int sizeMiB, bool direct, string compat, int backingClusterSize, int ops)
    {
        var scenario = new WriterScenario(clusterSize, refcountBits, (long)sizeMiB << 20, direct, compat, backingClusterSize);
        var baseSeed = Seeds.Base();
        var seed = Seeds.Derive(baseSeed, 3, clusterSize, refcountBits, ops);
        output.WriteLine($"seed {baseSeed} (ORCH_TEST_SEED={baseSeed} reproduces); writer seed {seed}; {ops} ops; {scenario}");
        using var rig = new WriterCrashRig(scenario, seed, output.WriteLine);
        var (top, baseline) = rig.CreateTop("control", new Random(seed));
        var tableBefore = WriterCrashRig.RefcountTable(top);
        using (var writer = rig.StartWriter(top, seed, ops))
        {
            writer.WaitForExit(TimeSpan.FromMinutes(3));
            Assert.True(writer.ExitCode == 0, $"seed {baseSeed}: CrashWriter --ops {ops} exited {writer.ExitCode}: {writer.StdErr}");
        }

        // Before our writable open can repair anything, a clean run must not even leak.
        var (exit, checkOutput) = QemuChain.Check(top);
        var problems = rig.VerifyAfterWriter(top, baseline, out var summary);
        output.WriteLine($"{summary}; refcount table {tableBefore.Clusters} -> {WriterCrashRig.RefcountTable(top).Clusters} cluster(s)");
        if (exit != 0)
        {
            problems.Insert(0, $"qemu-img check of the uninterrupted writer's image exits {exit}:\n{checkOutput}");
        }

        Assert.True(problems.Count == 0, $"seed {baseSeed} ({scenario}, {top}):\n" + string.Join("\n", problems));
    }
}
