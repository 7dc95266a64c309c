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

    private static (string Top, string Base) BaseWithTop(TempDirectory temp)
    {
        var basePath = temp.Combine("base.qcow2");
        var top = temp.Combine("top.qcow2");
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
