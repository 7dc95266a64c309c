using System.Text.Json;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>Images made by <c>orchestrator image create</c> must be valid for QEMU and carry the requested size, cluster size and backing file.</summary>
public sealed class CreateCommandTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private const long BaseSize = 6 * MiB;

    /// <summary>-o value ("" for none), backing ("", "relative" or "absolute"), size argument ("" to take the backing file's), expected size, cluster size, compat.</summary>
    public static TheoryData<string, string, string, long, int, string> Cases => new()
    {
        { "cluster_size=65536,compat=1.1", "", "8M", 8 * MiB, 65536, "1.1" },
        { "cluster_size=512,compat=0.10", "", "4M", 4 * MiB, 512, "0.10" },
        { "cluster_size=2M", "", "16M", 16 * MiB, 2 * 1024 * 1024, "1.1" },
        { "cluster_size=4096", "relative", "8M", 8 * MiB, 4096, "1.1" },
        { "", "relative", "", BaseSize, 65536, "1.1" },
        { "compat=0.10", "absolute", "1G", 1024 * MiB, 65536, "0.10" },
        { "", "", "1048576", MiB, 65536, "1.1" },
        { "cluster_size=2097152", "absolute", "32M", 32 * MiB, 2 * 1024 * 1024, "1.1" },
        { "", "", "1P", 1L << 50, 65536, "1.1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Create_ThenQemuImg_AcceptsAndReportsIt(string options, string backing, string sizeArg, long expectedSize, int expectedCluster, string expectedCompat)
    {
        using var temp = new TempDirectory("create");
        var tag = $"image create -o '{options}' backing={(backing.Length == 0 ? "none" : backing)} size='{sizeArg}' in {temp.Path}";
        string? backingName = null;
        if (backing.Length > 0)
        {
            QemuTools.Create(temp.Combine("base.qcow2"), BaseSize, 4096);
            backingName = backing == "relative" ? "base.qcow2" : temp.Combine("base.qcow2");
        }

        var args = new List<string> { "image", "create", "-f", "qcow2" };
        if (options.Length > 0)
        {
            args.AddRange(["-o", options]);
        }

        if (backingName is not null)
        {
            args.AddRange(["-b", backingName, "-F", "qcow2"]);
        }

        args.Add("new.qcow2");
        if (sizeArg.Length > 0)
        {
            args.Add(sizeArg);
        }

        Expect.Exit(Tools.Orchestrator(temp.Path, [.. args]), 0, tag);
        var image = temp.Combine("new.qcow2");
        Expect.Exit(QemuTools.Check(image), 0, $"{tag}: qemu-img check of the new image");

        using (var info = JsonDocument.Parse(QemuTools.InfoJson(image, backingChain: false)))
        {
            var root = info.RootElement;
            var data = root.GetProperty("format-specific").GetProperty("data");
            var seen = $"qemu-img info: {root.GetRawText()}";
            Assert.True(root.GetProperty("virtual-size").GetInt64() == expectedSize, $"{tag}: virtual-size, expected {expectedSize}; {seen}");
            Assert.True(root.GetProperty("cluster-size").GetInt32() == expectedCluster, $"{tag}: cluster-size, expected {expectedCluster}; {seen}");
            Assert.True(data.GetProperty("compat").GetString() == expectedCompat, $"{tag}: compat, expected {expectedCompat}; {seen}");
            Assert.True(data.GetProperty("refcount-bits").GetInt32() == 16, $"{tag}: refcount-bits, expected 16; {seen}");
            Assert.True(root.GetProperty("dirty-flag").GetBoolean() == false, $"{tag}: dirty-flag; {seen}");
            if (backingName is null)
            {
                Assert.False(root.TryGetProperty("backing-filename", out _), $"{tag}: unexpected backing file; {seen}");
            }
            else
            {
                Assert.True(root.TryGetProperty("backing-filename", out var name) && name.GetString() == backingName,
                    $"{tag}: backing-filename, expected {backingName}; {seen}");
                Assert.True(root.TryGetProperty("backing-filename-format", out var format) && format.GetString() == "qcow2",
                    $"{tag}: backing-filename-format, expected qcow2; {seen}");
            }
        }

        // Our own view of the fresh image agrees with qemu-img's.
        var qemuInfo = QemuTools.InfoJson(image, backingChain: true);
        var ourInfo = Expect.Exit(Tools.Orchestrator("/", "image", "info", "--output", "json", "--backing-chain", image), 0, tag);
        Assert.True(InfoFields.Difference(qemuInfo, ourInfo.StdOut) is null, $"{tag}: {InfoFields.Difference(qemuInfo, ourInfo.StdOut)}");
        var ourMap = Expect.Exit(Tools.Orchestrator("/", "image", "map", "--output", "json", image), 0, tag);
        Expect.SameMapText(QemuTools.Map(image), ourMap.StdOut, tag);

        // QEMU can allocate in it (new L2 tables, refcount growth) and the result still checks clean.
        var cluster = (long)expectedCluster;
        var last = ((expectedSize / cluster) - 1) * cluster;
        var io = QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x3c 0 {cluster}", "-c", $"write -P 0x3d {last} {cluster}",
            "-c", $"read -P 0x3c 0 {cluster}", "-c", $"read -P 0x3d {last} {cluster}", image);
        Assert.True(io.ExitCode == 0 && !io.StdOut.Contains("fail", StringComparison.OrdinalIgnoreCase), $"{tag}: qemu-io on the new image{Environment.NewLine}{Expect.Describe(io)}");
        Expect.Exit(QemuTools.Check(image), 0, $"{tag}: qemu-img check after qemu-io wrote to the new image");
        output.WriteLine($"{tag}: ok");
    }
}
