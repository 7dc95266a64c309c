using System.Diagnostics;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// The allocation summary behind <c>disk show</c> reads every L2 table of the chain. On a live disk it takes the
/// metadata lock a slice at a time, so the guest's allocating writes go on while a large disk is scanned.
/// </summary>
public sealed class SummaryScanTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new("summary-scan");

    [Fact]
    public async Task Guest_writes_that_allocate_complete_while_a_256_GiB_chain_is_scanned_in_slices_and_not_while_it_is_scanned_whole()
    {
        var basePath = _dir.Combine("base.qcow2");
        var top = _dir.Combine("top.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", basePath, "256G").EnsureSuccess();
        QemuTools.Create(top, 256L << 30, backing: basePath);
        using var live = new LiveDisk(top, new EngineSettings { StorageRoots = [_dir.Path] });

        var whole = await WritesDuring(live, TimeSpan.MaxValue, seed: 1, atLeast: TimeSpan.Zero);

        // A warm sliced scan can be over in tens of milliseconds, less than a busy machine takes to schedule one write:
        // scans are repeated until they have run for a second in all.
        var sliced = await WritesDuring(live, TimeSpan.FromMilliseconds(1), seed: 2, atLeast: TimeSpan.FromSeconds(1));
        output.WriteLine($"scanned whole: {whole.Scan.TotalMilliseconds:0} ms, {whole.Writes} writes done meanwhile; "
            + $"in slices: {sliced.Scan.TotalMilliseconds:0} ms, {sliced.Writes} writes, slowest {sliced.Slowest.TotalMilliseconds:0.0} ms");

        // The control: one slice holds the lock for the whole scan, and the writes waiting for it finish only after.
        Assert.True(whole.Writes <= 1, $"{whole.Writes} allocating writes finished during a scan holding the lock throughout");
        Assert.True(sliced.Writes >= 3, $"only {sliced.Writes} allocating writes finished during a {sliced.Scan.TotalMilliseconds:0} ms sliced scan");

        // The base is not written: both scans, and a scan of a fresh open, agree on it to the byte.
        using var check = ImageChain.Open(top, new ChainOpenOptions());
        Assert.Equal(AllocationSummary.Of(check)[1], whole.Summary[1]);
        Assert.Equal(whole.Summary[1], sliced.Summary[1]);
    }

    private static async Task<(TimeSpan Scan, int Writes, TimeSpan Slowest, IReadOnlyList<Orchestrator.Domain.Disks.DiskReplies.ImageSummary> Summary)> WritesDuring(
        LiveDisk live, TimeSpan slice, int seed, TimeSpan atLeast)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var writes = 0;
        var slowest = TimeSpan.Zero;
        var data = new byte[4096];
        IReadOnlyList<Orchestrator.Domain.Disks.DiskReplies.ImageSummary> summary;
        do
        {
            // Only writes started once the scan's first slice holds the lock count: on a loaded machine the pool may
            // start the scan late, and writes done before it takes the lock would count against the control.
            var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var scanning = Task.Run(() => AllocationSummary.OfLive(live, slice, () => locked.TrySetResult()));
            while (!scanning.IsCompleted)
            {
                var offset = random.NextInt64(0, (256L << 30) / 65536) * 65536;
                var startedUnderScan = locked.Task.IsCompleted;
                var one = Stopwatch.StartNew();
                await Task.Run(() => live.Write(offset, data));
                if (startedUnderScan && !scanning.IsCompleted)
                {
                    writes++;
                    slowest = one.Elapsed > slowest ? one.Elapsed : slowest;
                }
            }

            summary = await scanning;
        }
        while (clock.Elapsed < atLeast);

        return (clock.Elapsed, writes, slowest, summary);
    }

    public void Dispose() => _dir.Dispose();
}
