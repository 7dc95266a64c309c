using Orchestrator.Engine.Pacing;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Stream;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests.Pacing;

/// <summary>
/// The pacing wired into a real copy as a stream worker wires it: a guest that does not wait gets a copy that never
/// waits for gaps; a guest that waits three times its service time gets requests of half the ceiling, each started
/// in a gap. Either way the copy is exact (qemu-img compare against the chain before the stream).
/// </summary>
public sealed class PacedCopyTests
{
    private const int Cluster = 65536;
    private const int Clusters = 64;

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 2 * Clusters / 2)] // each read and each write of at most 2 clusters waits for a gap
    public void The_copy_waits_for_gaps_and_shrinks_its_requests_only_while_the_guest_waits(bool guestWaits, int minGapWaits)
    {
        using var temp = new TempDirectory("paced");
        var top = BuildChain(temp);
        var before = temp.Combine("before.raw");
        QemuTools.ConvertToRaw(top, before);

        var pressure = guestWaits
            ? new GuestPressure(1, 0, TimeSpan.FromMicroseconds(600), TimeSpan.FromMicroseconds(200), TimeSpan.Zero)
            : new GuestPressure(1, 0, TimeSpan.FromMicroseconds(210), TimeSpan.FromMicroseconds(200), TimeSpan.Zero);
        var gapWaits = 0;
        var pacing = new AdaptivePacing(() => pressure, _ => Interlocked.Increment(ref gapWaits), 4 * Cluster);
        using (var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true }))
        using (var copier = new StreamCopier(chain, baseIndex: 2, batchBytes: 32 * Cluster, beforeIo: pacing.BeforeIo,
                   yieldToGuest: pacing.Yield, yieldIoBytes: 4 * Cluster, yieldIoSize: () => pacing.IoBytes))
        {
            copier.Run();
            Assert.Equal((long)Clusters * Cluster, copier.BytesCopied);
        }

        Assert.Equal(guestWaits ? 2 * Cluster : 4 * Cluster, pacing.IoBytes);
        if (guestWaits)
        {
            Assert.True(gapWaits >= minGapWaits, $"{gapWaits} gap waits; {minGapWaits} requests of at most 2 clusters need one each");
        }
        else
        {
            Assert.Equal(0, gapWaits);
        }

        Assert.Equal(0, QemuTools.Check(top).ExitCode);
        var compare = QemuTools.Compare(before, top, fmtA: "raw");
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
    }

    /// <summary>A &lt;- B &lt;- C, B full of one pattern: streaming B into C copies every cluster.</summary>
    private static string BuildChain(TempDirectory temp)
    {
        var a = temp.Combine("A.qcow2");
        var b = temp.Combine("B.qcow2");
        var c = temp.Combine("C.qcow2");
        QemuTools.Create(a, Clusters * Cluster, Cluster);
        QemuTools.Create(b, Clusters * Cluster, Cluster, backing: "A.qcow2");
        QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x22 0 {Clusters * Cluster}", b).EnsureSuccess();
        QemuTools.Create(c, Clusters * Cluster, Cluster, backing: "B.qcow2");
        return c;
    }
}
