using System.Buffers.Binary;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Crash.Tests;

/// <summary>
/// Deterministic versions of states the random kills reach only sometimes, so a failure reproduces every time.
/// </summary>
public sealed class CrashStateTests(ITestOutputHelper output)
{
    /// <summary>
    /// A kill between step 1's refcount block write and the data write leaves clusters counted past the end of the
    /// file, and the dirty bit that the session set before its first refcount write. The writable open of the dirty
    /// image must give them back too: otherwise the next allocation extends the file over them and qemu-img check
    /// reports them as leaks (exit 3) on an image nobody crashed since.
    /// </summary>
    [Fact]
    public void LeakPastEndOfFileIsRepairedByWritableOpen()
    {
        using var dir = new TempDirectory("crash-state");
        var path = dir.Combine("leak.qcow2");
        QemuTools.Create(path, 16L << 20);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 1 0 1M", path).EnsureSuccess();
        var fileClusters = new FileInfo(path).Length / 65536;
        RaiseRefcounts(path, fileClusters, 4);
        SetDirtyBit(path);
        output.WriteLine($"raised the refcounts of clusters {fileClusters}..{fileClusters + 3}, just past the end of the file, to 1, and set the dirty bit");

        using (var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true }))
        {
            // Allocates past the old end of the file, over the leaked clusters' offsets.
            chain.Write(4L << 20, new byte[1 << 20].AsSpan());
            chain.Flush();
        }

        var (exit, checkOutput) = QemuChain.Check(path);
        Assert.True(exit == 0,
            $"after our writable open (leak repair) and a 1 MiB write, qemu-img check exits {exit}: the clusters counted past "
            + $"the end of the file were not given back:\n{checkOutput}");
    }

    /// <summary>
    /// A stream batch whose allocation spans many refcount blocks and grows the refcount table on the way
    /// (512-byte clusters, 9 MiB to copy into an empty overlay): no kill at all, the image must be clean.
    /// </summary>
    [Fact]
    public void StreamBatchThatGrowsRefcountTableKeepsImageClean()
    {
        using var dir = new TempDirectory("crash-state");
        string a = dir.Combine("A.qcow2"), b = dir.Combine("B.qcow2"), c = dir.Combine("C.qcow2");
        QemuTools.Create(a, 16L << 20, clusterSize: 512);
        QemuTools.Create(b, 16L << 20, clusterSize: 512, backing: "A.qcow2", workingDirectory: dir.Path);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x33 0 9M", b).EnsureSuccess();
        QemuTools.Create(c, 16L << 20, clusterSize: 512, backing: "B.qcow2", workingDirectory: dir.Path);
        var result = ProcessRunner.Run(ChildPrograms.Dotnet, [ChildPrograms.OrchestratorDll, "image", "stream", "-q", "--base", a, c], dir.Path);
        Assert.True(result.ExitCode == 0, $"stream failed: {result.StdErr}");

        var (exit, checkOutput) = QemuChain.Check(c);
        Assert.True(exit == 0, $"a complete stream (no kill) left qemu-img check exit {exit}:\n{checkOutput}");
        var compare = QemuTools.Compare(c, b);
        Assert.True(compare.ExitCode == 0, $"streamed content differs: {compare.StdOut}{compare.StdErr}");
    }

    /// <summary>Sets the dirty bit (incompatible_features bit 0, byte 79) in place, as a killed writer leaves it.</summary>
    private static void SetDirtyBit(string path)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        var features = new byte[8];
        file.Position = 72;
        file.ReadExactly(features);
        features[7] |= 1;
        file.Position = 72;
        file.Write(features);
    }

    /// <summary>Sets the 16-bit refcounts of clusters [first, first+count) to 1 in place, as a killed writer leaves them.</summary>
    private static void RaiseRefcounts(string path, long first, int count)
    {
        long tableOffset;
        int clusterSize;
        using (var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()))
        {
            Assert.Equal(4, image.Header.RefcountOrder);
            tableOffset = image.Header.RefcountTableOffset;
            clusterSize = image.ClusterSize;
        }

        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        var entriesPerBlock = clusterSize * 8 / 16;
        var entry = new byte[8];
        var value = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(value, 1);
        for (var cluster = first; cluster < first + count; cluster++)
        {
            file.Position = tableOffset + (cluster / entriesPerBlock * 8);
            file.ReadExactly(entry);
            var block = (long)BinaryPrimitives.ReadUInt64BigEndian(entry);
            Assert.True(block != 0, $"no refcount block covers cluster {cluster}");
            file.Position = block + (cluster % entriesPerBlock * 2);
            file.Write(value);
        }
    }
}
