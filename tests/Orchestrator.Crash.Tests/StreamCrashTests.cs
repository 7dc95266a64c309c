using System.Diagnostics;
using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// `orchestrator image stream --base A D` SIGKILLed at random moments: before the header rewrite the chain is
/// unchanged, after it D -> A; either way the guest content is the same, qemu-img finds at most leaks, and a
/// second stream finishes the job cleanly.
/// </summary>
public sealed class StreamCrashTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(65536, 64, "writeback", false, false, 4)]
    [InlineData(65536, 64, "none", false, true, 4)]
    [InlineData(65536, 32, "writeback", true, false, 3)]
    [InlineData(4096, 48, "writeback", false, true, 4)]
    [InlineData(4096, 32, "none", false, false, 3)]
    [InlineData(512, 32, "writeback", false, false, 3)]
    [InlineData(512, 32, "none", false, true, 3)]
    public void KilledStreamKeepsContentAndCompletesOnRerun(
        int clusterSize, int sizeMiB, string cache, bool compatV2, bool shorterBacking, int iterations)
    {
        var baseSeed = Seeds.Base();
        var chainSeed = Seeds.Derive(baseSeed, 4, clusterSize, sizeMiB, cache.Length, compatV2 ? 1 : 0, shorterBacking ? 1 : 0);
        var what = $"cluster {clusterSize}, {sizeMiB} MiB, compat {(compatV2 ? "0.10" : "1.1")}, "
            + $"{(shorterBacking ? "shorter backing files, " : string.Empty)}-t {cache}, --batch-size 1M";
        output.WriteLine($"seed {baseSeed} (ORCH_TEST_SEED={baseSeed} rebuilds the chain and replays the kill delays); {what}");
        var clock = Stopwatch.StartNew();
        using var rig = new StreamCrashRig(clusterSize, (long)sizeMiB << 20, cache, compatV2, shorterBacking, chainSeed, output.WriteLine);
        output.WriteLine($"chain {rig}");
        var failures = new List<string>();

        // An uninterrupted stream first: the control, and the duration the kill moments are spread over.
        rig.RestoreTop();
        var (exit, stderr, elapsed) = rig.RunStream();
        var full = rig.VerifyComplete();
        var startup = rig.MeasureStartup();
        output.WriteLine($"uninterrupted stream: exit {exit} in {elapsed.TotalMilliseconds:0} ms (start and open: {startup.TotalMilliseconds:0} ms), "
            + $"top file {rig.TopFileLength} bytes");
        if (exit != 0)
        {
            full.Insert(0, $"exit {exit}: {stderr}");
        }

        if (full.Count > 0)
        {
            failures.Add("uninterrupted stream (no kill at all):\n  " + string.Join("\n  ", full));
        }

        var rng = new Random(Seeds.Derive(chainSeed, 5));
        var committedRuns = 0;
        for (var i = 0; i < iterations; i++)
        {
            rig.RestoreTop();
            // From about when the copying starts to a little past the usual end, so the commit point is covered too.
            var earliest = (int)(startup.TotalMilliseconds * 0.8);
            var delay = rng.Next(earliest, Math.Max(earliest + 20, (int)(elapsed.TotalMilliseconds * 1.05)));
            bool killed;
            string streamErr;
            using (var stream = rig.StartStream())
            {
                Thread.Sleep(delay);
                killed = stream.Kill();
                streamErr = stream.StdErr;
                if (!killed && stream.ExitCode != 0)
                {
                    failures.Add($"iteration {i}: the stream failed by itself with exit {stream.ExitCode}: {streamErr}");
                    continue;
                }
            }

            var endCluster = rig.TopEndCluster(clusterSize);
            var problems = rig.VerifyInterrupted(out var committed, out var checkExit);
            committedRuns += committed ? 1 : 0;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"iteration {i}: {(killed ? $"killed after {delay} ms" : $"finished before the kill at {delay} ms")}, "
                + $"{(committed ? "header already rewritten (D -> A)" : "chain unchanged")}, check {checkExit}, top file {rig.TopFileLength} bytes");

            var (rerunExit, rerunErr, rerunTime) = rig.RunStream();
            if (rerunExit != 0)
            {
                problems.Add($"the second stream failed with exit {rerunExit}: {rerunErr}");
            }
            else
            {
                problems.AddRange(rig.VerifyComplete(endCluster).Select(p => "after the second stream: " + p));
            }

            output.WriteLine($"{line}; rerun {rerunTime.TotalMilliseconds:0} ms");
            if (problems.Count > 0)
            {
                failures.Add($"iteration {i} ({line}):\n  " + string.Join("\n  ", problems));
                output.WriteLine("  FAILED:\n  " + string.Join("\n  ", problems));
            }
        }

        output.WriteLine($"{iterations} kills in {clock.Elapsed.TotalSeconds:0.0} s; {committedRuns} after the commit point");
        Assert.True(failures.Count == 0,
            $"seed {baseSeed} ({what}; chain {rig}): {failures.Count} failure(s) "
            + $"(rerun with ORCH_TEST_SEED={baseSeed} ORCH_KEEP_TEST_FILES=1 to keep {rig.Directory}):\n" + string.Join("\n", failures));
    }
}
