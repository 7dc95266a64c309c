using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Unit;

/// <summary>
/// Where new data clusters go: into the holes of a fragmented free map first, run by run, rather than past every hole
/// shorter than the write (a contiguous request's behaviour, which grew corrupt and discarded images alike).
/// </summary>
public sealed class AllocationTests(ITestOutputHelper output) : IDisposable
{
    private const int Cluster = 64 << 10;
    private readonly TempDirectory _dir = new("qcow2-alloc");

    [Fact]
    public void AMultiClusterWriteFillsSingleClusterHolesBeforeGrowingTheFile()
    {
        var path = _dir.Combine("holes.qcow2");
        QemuTools.Create(path, 8L << 20, clusterSize: Cluster);
        Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x11 0 {16 * Cluster}", path).ExitCode);
        for (var c = 0; c < 16; c += 2)
        {
            // Every other cluster freed: eight holes of one cluster each, none long enough for an eight-cluster run.
            Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-c", $"discard {c * Cluster} {Cluster}", path).ExitCode);
        }

        var before = new FileInfo(path).Length;
        using (var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }))
        {
            var data = new byte[8 * Cluster];
            Array.Fill(data, (byte)0x5a);
            chain.Write(4L << 20, data);
            chain.Flush();
        }

        var after = new FileInfo(path).Length;
        output.WriteLine($"file {before} -> {after} bytes after writing eight clusters into eight one-cluster holes");
        Assert.Equal(before, after);
        Assert.Equal(0, QemuTools.Check(path).ExitCode);
        var read = QemuTools.Io("-f", "qcow2", "-c", $"read -P 0x5a {4 << 20} {8 * Cluster}", "-c", $"read -P 0x11 {Cluster} {Cluster}", path);
        Assert.True(read.ExitCode == 0 && !read.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), read.StdOut + read.StdErr);
    }

    [Fact]
    public void A_discard_frees_the_host_clusters_as_qemu_does_and_later_writes_reuse_them()
    {
        var path = _dir.Combine("discard.qcow2");
        QemuTools.Create(path, 8L << 20, clusterSize: Cluster);
        Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x11 0 {16 * Cluster}", path).ExitCode);
        var full = new FileInfo(path).Length;

        using (var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }))
        {
            chain.Discard(0, 8 * Cluster);
            chain.Flush();
        }

        // No leak: the eight host clusters are free, not merely zero-flagged (qemu-img check would count them leaked).
        var check = QemuTools.Check(path);
        Assert.True(check.ExitCode == 0 && check.StdOut.Contains("No errors were found", StringComparison.Ordinal), check.StdOut + check.StdErr);
        var map = QemuTools.Map(path);
        output.WriteLine(map);
        var first = System.Text.Json.JsonDocument.Parse(map).RootElement[0];
        Assert.True(first.GetProperty("start").GetInt64() == 0 && first.GetProperty("length").GetInt64() == 8 * Cluster
            && first.GetProperty("zero").GetBoolean() && !first.GetProperty("data").GetBoolean(), map);

        using (var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }))
        {
            var data = new byte[8 * Cluster];
            Array.Fill(data, (byte)0x5a);
            chain.Write(4L << 20, data);
            chain.Flush();
        }

        Assert.Equal(full, new FileInfo(path).Length);
        Assert.Equal(0, QemuTools.Check(path).ExitCode);
        var read = QemuTools.Io("-f", "qcow2", "-c", $"read -P 0 0 {8 * Cluster}", "-c", $"read -P 0x11 {8 * Cluster} {8 * Cluster}",
            "-c", $"read -P 0x5a {4 << 20} {8 * Cluster}", path);
        Assert.True(read.ExitCode == 0 && !read.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), read.StdOut + read.StdErr);
    }

    public void Dispose() => _dir.Dispose();
}
