using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Qcow2.Stream;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// While the guest is active a copy keeps its device requests small and starts each one through the pacing hook (a
/// live disk waits there for a gap between guest requests). The copy must stay complete and exact: qemu-img compare
/// against the chain before the stream.
/// </summary>
public sealed class GuestPacingTests
{
    private const int Cluster = 65536;
    private const int Clusters = 64;

    [Theory]
    [InlineData(CacheMode.PageCache)]
    [InlineData(CacheMode.Direct)]
    public void Yielding_copy_starts_every_request_through_the_hook_and_copies_everything(CacheMode cache)
    {
        using var temp = new TempDirectory("pacing");
        var a = temp.Combine("A.qcow2");
        var b = temp.Combine("B.qcow2");
        var c = temp.Combine("C.qcow2");
        QemuTools.Create(a, Clusters * Cluster, Cluster);
        QemuTools.Create(b, Clusters * Cluster, Cluster, backing: "A.qcow2");
        Expect.Exit(QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x22 0 {Clusters * Cluster}", b), 0, "qemu-io write B");
        QemuTools.Create(c, Clusters * Cluster, Cluster, backing: "B.qcow2");
        var before = temp.Combine("before.raw");
        QemuTools.ConvertToRaw(c, before);

        const int yieldBytes = 2 * Cluster;
        var hookCalls = 0;
        using (var chain = ImageChain.Open(c, new ChainOpenOptions { WritableTop = true, TopCache = cache, BackingCache = cache }))
        using (var copier = new StreamCopier(chain, baseIndex: 2, batchBytes: 32 * Cluster, beforeIo: () => hookCalls++,
                   yieldToGuest: () => true, yieldIoBytes: yieldBytes))
        {
            copier.Run();
            Assert.Equal((long)Clusters * Cluster, copier.BytesCopied);
        }

        // B's data is one host run: without pacing a batch is one read and one write, and the hook runs twice a batch.
        // Paced, every read and every write of at most yieldBytes has a call of its own.
        var paced = 2 * Clusters * Cluster / yieldBytes;
        Assert.True(hookCalls >= paced, $"the pacing hook ran {hookCalls} times; {paced} requests of at most {yieldBytes} bytes need one each");

        Expect.Exit(QemuTools.Check(c), 0, "qemu-img check of the top");
        Expect.Exit(QemuTools.Compare(before, c, fmtA: "raw"), 0, "the top reads as the chain did before the copy");
        var ownExtents = JsonMap.Parse(QemuTools.Map(c)).Where(e => e.Depth == 0).Sum(e => e.Length);
        Assert.Equal((long)Clusters * Cluster, ownExtents);
    }
}
