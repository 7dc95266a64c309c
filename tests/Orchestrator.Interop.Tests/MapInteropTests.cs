using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary><c>orchestrator image map --output json</c> must print exactly what <c>qemu-img map --output=json</c> prints.</summary>
public sealed class MapInteropTests(ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;

    /// <summary>caseId, cluster size, v2, layers, shorter backing files, relative backing names, virtual size.</summary>
    public static TheoryData<int, int, bool, int, bool, bool, int> Cases => new()
    {
        { 0, 65536, false, 3, false, true, 8 * MiB },
        { 1, 65536, true, 2, true, true, 8 * MiB },
        { 2, 4096, false, 4, true, true, 8 * MiB },
        { 3, 4096, true, 3, false, false, 8 * MiB },
        { 4, 512, false, 2, false, true, 4 * MiB },
        { 5, 512, true, 3, true, true, 4 * MiB },
        { 6, 2 * MiB, false, 3, false, true, 16 * MiB },
        { 7, 2 * MiB, true, 2, true, false, 16 * MiB },
        { 8, 65536, false, 1, false, true, 8 * MiB },
        { 9, 4096, true, 1, false, true, 4 * MiB },
        { 10, 65536, false, 4, true, false, 16 * MiB },
        { 11, 512, false, 4, false, false, 4 * MiB },
        { 12, 2 * MiB, false, 4, true, true, 12 * MiB },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Map_RandomChain_EqualsQemuImgByteForByte(
        int caseId, int clusterSize, bool v2, int layers, bool shorterBacking, bool relativeBackingNames, int virtualSize)
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("map");
        var spec = new ChainSpec
        {
            Layers = layers,
            VirtualSize = virtualSize,
            ClusterSize = clusterSize,
            Compat = v2 ? ChainCompat.V2 : ChainCompat.V3,
            ShorterBackingFiles = shorterBacking,
            RelativeBackingNames = relativeBackingNames,
            WritesPerLayer = 20,
            CompressedWriteFraction = 0.15,
            ZeroWriteFraction = 0.2,
        };
        var chain = new RandomChainBuilder(TestSeed.Value, output.WriteLine).Build(temp.Combine("chain"), spec);
        var tag = $"{TestSeed.Tag(caseId)} {chain.Describe()}";

        var failures = new List<string>();
        foreach (var mode in Enum.GetValues<PathMode>())
        {
            Compare(chain.Top, mode, tag, failures);
        }

        // Every lower image is the top of a shorter chain (the bottom has no backing file at all).
        for (var i = 0; i < chain.ImagePaths.Count - 1; i++)
        {
            Compare(chain.ImagePaths[i], PathMode.Relative, tag, failures);
        }

        // The same chain with no holes in the host files: separates the L1/L2 walk from how holes are reported.
        var dense = ChainCopy.Dense(chain, temp.Combine("dense"));
        Compare(dense[^1], PathMode.Relative, tag, failures);

        Assert.True(failures.Count == 0, $"{tag}: {failures.Count} map(s) differ{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>
    /// A 4 KiB write into a fresh 64 KiB cluster: QEMU zero-fills the rest of the cluster with fallocate, leaving a hole in
    /// the host file. qemu-img 7.2 asks the host file about holes only when it detects metadata preallocation
    /// (qcow2_detect_metadata_preallocation): a plain image maps the whole cluster as data, a preallocated one
    /// reports the hole as "zero": true.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("preallocation=metadata")]
    public void Map_DataClusterWithHostHole_EqualsQemuImg(string createOptions)
    {
        using var temp = new TempDirectory("map-hole");
        string[] create = createOptions.Length == 0
            ? ["create", "-q", "-f", "qcow2", "m.qcow2", "1M"]
            : ["create", "-q", "-f", "qcow2", "-o", createOptions, "m.qcow2", "1M"];
        Tools.QemuImg(temp.Path, create).EnsureSuccess();
        Tools.QemuIo(temp.Path, "-f", "qcow2", "-c", "write -P 1 0 4k", "m.qcow2").EnsureSuccess();

        var tag = $"qemu-img create {createOptions} m.qcow2 1M; qemu-io -c 'write -P 1 0 4k' m.qcow2 in {temp.Path}";
        var failures = new List<string>();
        Compare(temp.Combine("m.qcow2"), PathMode.Relative, tag, failures);
        Assert.True(failures.Count == 0, $"{tag}: {string.Join(Environment.NewLine, failures)}");
    }

    private void Compare(string image, PathMode mode, string tag, List<string> failures)
    {
        var arg = ImageArg.For(image, mode);
        var where = $"image={arg.Name} (run from {arg.WorkingDirectory}, {mode})";
        var qemu = Expect.Exit(Tools.QemuImg(arg.WorkingDirectory, "map", "--output=json", arg.Name), 0, $"{tag} {where}");
        var ours = Tools.Orchestrator(arg.WorkingDirectory, "image", "map", "--output", "json", arg.Name);
        output.WriteLine($"map {mode} {arg.Name}: {JsonMap.Parse(qemu.StdOut).Count} extents per qemu-img");
        if (ours.ExitCode != 0)
        {
            failures.Add($"{where}: exit code {ours.ExitCode}{Environment.NewLine}{Expect.Describe(ours)}");
        }
        else if (Expect.MapTextDifference(qemu.StdOut, ours.StdOut) is { } difference)
        {
            failures.Add($"{where}: {difference}");
        }
    }
}
