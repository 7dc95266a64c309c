using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// The live copy's three steps (reserve under the lock, write outside it, stage under it) against guest writes in
/// each window between them: the guest's data must win every time, and the copy's spare clusters must not leak.
/// qemu-img check and qemu-io read the result.
/// </summary>
public sealed class CopyReservationTests
{
    private const int Cluster = 65536;

    [Theory]
    [InlineData(CacheMode.PageCache)]
    [InlineData(CacheMode.Direct)]
    public void GuestWritesBetweenSteps_GuestWins_NoLeak(CacheMode cache)
    {
        using var temp = new TempDirectory("reserve");
        var (top, _) = BaseWithTop(temp);

        using (var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true, TopCache = cache, BackingCache = cache }))
        {
            using var data = new AlignedBuffer(8 * Cluster);
            chain.Read(0, data.Span);
            var zero = new bool[8];

            // Gathered: clusters 0..7 were unallocated in the top. The guest writes cluster 2 before the reservation...
            Guest(chain, 2, 0x22);
            var reservation = chain.Top.ReserveCopy([new ClusterRun(0, 8)], zero);
            Assert.Equal(7, reservation.Count);

            // ...and cluster 5 after it, while the copy writes its data without the lock.
            Guest(chain, 5, 0x55);
            chain.Top.WriteReserved(reservation, data.Span);
            chain.Top.StageReserved(reservation);

            // A reservation whose data write failed is given back.
            var abandoned = chain.Top.ReserveCopy([new ClusterRun(8, 2)], [false, false]);
            chain.Top.AbandonReserved(abandoned);

            chain.Top.CommitStaged();
            chain.Flush();
        }

        var check = QemuTools.Check(top);
        Assert.True(check.ExitCode == 0 && check.StdOut.Contains("No errors were found", StringComparison.Ordinal),
            $"qemu-img check after the copy: exit {check.ExitCode}\n{check.StdOut}{check.StdErr}");
        ExpectPattern(top, 0, 2, 0x11);
        ExpectPattern(top, 2, 1, 0x22);
        ExpectPattern(top, 3, 2, 0x11);
        ExpectPattern(top, 5, 1, 0x55);
        ExpectPattern(top, 6, 4, 0x11);

        // The copied clusters now belong to the top; clusters 8 and 9 (abandoned) still come from the base.
        var extents = JsonMap.Parse(QemuTools.Map(top));
        Assert.All(extents.Where(e => e.Start < 8 * Cluster), e => Assert.Equal(0, e.Depth));
        Assert.All(extents.Where(e => e.Start >= 8 * Cluster && e.Start < 10 * Cluster), e => Assert.Equal(1, e.Depth));
    }

    /// <summary>
    /// Through the page cache the copy writes its data with O_DIRECT (beside the guest's buffered I/O). A host cluster
    /// it reuses may still have pages in the page cache from its earlier life; the guest must read the copy's data,
    /// never those stale pages.
    /// </summary>
    [Fact]
    public void PageCache_CopyIntoReusedCluster_GuestReadsCopyNotStalePages()
    {
        using var temp = new TempDirectory("reserve-stale");
        var (top, _) = BaseWithTop(temp);

        // qemu-io (through the page cache) writes clusters 12..15 of the top, then discards them: their host clusters
        // are free again but their 0x77 pages stay cached. The base has no data there, so they now read as zeros.
        Expect.Exit(QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x77 {12 * Cluster} {4 * Cluster}", top), 0, "qemu-io write top");
        var freedHosts = JsonMap.Parse(QemuTools.Map(top)).Where(e => e.Depth == 0 && e.Offset is not null)
            .SelectMany(e => Enumerable.Range(0, (int)(e.Length / Cluster)).Select(i => e.Offset!.Value + (long)i * Cluster)).ToHashSet();
        Assert.Equal(4, freedHosts.Count);
        Expect.Exit(QemuTools.Io("-f", "qcow2", "-c", $"discard {12 * Cluster} {4 * Cluster}", top), 0, "qemu-io discard top");
        using (var warm = File.OpenRead(top))
        {
            // Make sure the stale pages are in the page cache, whatever the kernel did meanwhile.
            foreach (var host in freedHosts)
            {
                warm.Position = host;
                warm.ReadExactly(new byte[Cluster]);
            }
        }

        using (var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true, TopCache = CacheMode.PageCache, BackingCache = CacheMode.PageCache }))
        {
            using var data = new AlignedBuffer(4 * Cluster);
            chain.Read(0, data.Span);
            var reservation = chain.Top.ReserveCopy([new ClusterRun(0, 4)], new bool[4]);
            chain.Top.WriteReserved(reservation, data.Span);
            chain.Top.StageReserved(reservation);
            chain.Top.CommitStaged();

            // The premise: the copy reused the freed clusters (otherwise this test proves nothing).
            var copiedHosts = JsonMap.Parse(QemuTools.Map(top)).Where(e => e.Depth == 0 && e.Start < 4 * Cluster && e.Offset is not null)
                .SelectMany(e => Enumerable.Range(0, (int)(e.Length / Cluster)).Select(i => e.Offset!.Value + (long)i * Cluster));
            Assert.True(copiedHosts.Any(freedHosts.Contains), "the copy did not reuse a freed host cluster; the test needs it to");

            // The guest path (buffered, same process) reads the copy's data.
            var read = new byte[4 * Cluster];
            chain.Read(0, read);
            var wrong = Array.FindIndex(read, b => b != 0x11);
            Assert.True(wrong < 0, $"the guest read 0x{(wrong < 0 ? 0 : read[wrong]):x2} at byte {wrong} of a copied cluster, not the copy's 0x11");
            chain.Flush();
        }

        ExpectPattern(top, 0, 4, 0x11);
        var check = QemuTools.Check(top);
        Assert.True(check.ExitCode == 0, $"qemu-img check after the copy: exit {check.ExitCode}\n{check.StdOut}{check.StdErr}");
    }

    /// <summary>
    /// A file system may take O_DIRECT at open and refuse it per request (EINVAL). The copy then goes on through the
    /// page cache; any other write error is reported, not retried another way. Fault injection stands in for such a
    /// file system (ext4 takes every request). The top's file name is unique: the rules match by name in the process.
    /// </summary>
    [Theory]
    [InlineData(FaultInjection.Error.InvalidArgument, true)]
    [InlineData(FaultInjection.Error.Io, false)]
    public void PageCache_DirectCopyWriteRefused_FallsBackOnlyOnInvalidArgument(FaultInjection.Error error, bool copyCompletes)
    {
        using var temp = new TempDirectory("reserve-refused");
        var topName = $"refused-{error}-top.qcow2";
        var (top, _) = BaseWithTop(temp, topName);
        var rule = new FaultInjection.Rule("write", topName, 0, -1, error, times: 1);

        using (var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true, TopCache = CacheMode.PageCache, BackingCache = CacheMode.PageCache }))
        {
            using var data = new AlignedBuffer(4 * Cluster);
            chain.Read(0, data.Span);
            var reservation = chain.Top.ReserveCopy([new ClusterRun(0, 4)], new bool[4]);
            FaultInjection.Add(rule);
            if (copyCompletes)
            {
                chain.Top.WriteReserved(reservation, data.Span);
                chain.Top.StageReserved(reservation);
                chain.Top.CommitStaged();
            }
            else
            {
                var e = Assert.Throws<Qcow2Exception>(() => chain.Top.WriteReserved(reservation, data.Span));
                Assert.Contains("Input/output error", e.Message, StringComparison.Ordinal);
                chain.Top.AbandonReserved(reservation);
                chain.Top.CommitStaged();
            }

            chain.Flush();
        }

        Assert.Equal(0, rule.Remaining);
        var check = QemuTools.Check(top);
        Assert.True(check.ExitCode == 0, $"qemu-img check after the copy: exit {check.ExitCode}\n{check.StdOut}{check.StdErr}");
        ExpectPattern(top, 0, 4, 0x11);
        var ownClusters = JsonMap.Parse(QemuTools.Map(top)).Where(e => e.Depth == 0 && e.Start < 4 * Cluster).Sum(e => e.Length) / Cluster;
        Assert.Equal(copyCompletes ? 4 : 0, ownClusters);
    }

    private static (string Top, string Base) BaseWithTop(TempDirectory temp, string topName = "top.qcow2")
    {
        var basePath = temp.Combine("base.qcow2");
        var top = temp.Combine(topName);
        QemuTools.Create(basePath, 16 * Cluster, Cluster);
        Expect.Exit(QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x11 0 {10 * Cluster}", basePath), 0, "qemu-io write base");
        QemuTools.Create(top, 16 * Cluster, Cluster, backing: basePath);
        return (top, basePath);
    }

    private static void Guest(ImageChain chain, long cluster, byte pattern)
    {
        var buffer = new byte[Cluster];
        Array.Fill(buffer, pattern);
        chain.Write(cluster * Cluster, buffer);
    }

    private static void ExpectPattern(string image, long firstCluster, int clusters, byte pattern) =>
        Expect.Exit(QemuTools.Io("-f", "qcow2", "-c", $"read -P 0x{pattern:x2} {firstCluster * Cluster} {clusters * Cluster}", image), 0,
            $"clusters {firstCluster}..{firstCluster + clusters - 1} should read 0x{pattern:x2}");
}
