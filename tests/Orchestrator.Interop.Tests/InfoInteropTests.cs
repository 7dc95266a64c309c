using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary><c>orchestrator image info --output json</c> must report the same key values as <c>qemu-img info --output=json</c>.</summary>
public sealed class InfoInteropTests(ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;

    /// <summary>caseId, cluster size, v2, layers, shorter backing files, relative backing names.</summary>
    public static TheoryData<int, int, bool, int, bool, bool> Chains => new()
    {
        { 100, 65536, false, 3, false, true },
        { 101, 4096, true, 2, true, false },
        { 102, 512, false, 4, true, true },
        { 103, 2 * MiB, true, 1, false, true },
        { 104, 65536, true, 4, false, false },
        { 105, 4096, false, 2, true, true },
    };

    public static TheoryData<string> Scenarios => new()
    {
        "lazy-refcounts", "refcount-bits-1", "refcount-bits-64", "v2-chain", "dirty", "corrupt", "backing-in-parent-folder",
        "absolute-backing-name", "missing-backing-file", "name-with-space-and-plus",
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void Info_RandomChain_MatchesQemuImg(int caseId, int clusterSize, bool v2, int layers, bool shorterBacking, bool relativeBackingNames)
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("info");
        var spec = new ChainSpec
        {
            Layers = layers,
            VirtualSize = 8 * MiB,
            ClusterSize = clusterSize,
            Compat = v2 ? ChainCompat.V2 : ChainCompat.V3,
            ShorterBackingFiles = shorterBacking,
            RelativeBackingNames = relativeBackingNames,
            WritesPerLayer = 3,
        };
        var chain = new RandomChainBuilder(TestSeed.Value, output.WriteLine).Build(temp.Combine("chain"), spec);
        var tag = $"{TestSeed.Tag(caseId)} {chain.Describe()}";

        var failures = new List<string>();
        foreach (var mode in Enum.GetValues<PathMode>())
        {
            Compare(chain.Top, mode, backingChain: true, tag, failures);
            Compare(chain.Top, mode, backingChain: false, tag, failures);
        }

        Compare(chain.Bottom, PathMode.Relative, backingChain: true, tag, failures);
        Assert.True(failures.Count == 0, $"{tag}: {failures.Count} info output(s) differ{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Info_SpecialImage_MatchesQemuImg(string scenario)
    {
        using var temp = new TempDirectory("info-special");
        var image = MakeScenario(scenario, temp);
        var tag = $"scenario {scenario} in {temp.Path}";
        var failures = new List<string>();
        foreach (var mode in Enum.GetValues<PathMode>())
        {
            Compare(image, mode, backingChain: false, tag, failures);
            if (scenario != "missing-backing-file")
            {
                Compare(image, mode, backingChain: true, tag, failures);
            }
        }

        Assert.True(failures.Count == 0,
            $"{tag}: {failures.Count} info output(s) differ{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    private static string MakeScenario(string scenario, TempDirectory temp)
    {
        var baseImage = temp.Combine("base.qcow2");
        var top = temp.Combine("top.qcow2");
        switch (scenario)
        {
            case "lazy-refcounts":
                CreateWithOptions(top, "lazy_refcounts=on");
                return top;
            case "refcount-bits-1":
                CreateWithOptions(top, "refcount_bits=1");
                return top;
            case "refcount-bits-64":
                CreateWithOptions(top, "refcount_bits=64,cluster_size=4096");
                return top;
            case "v2-chain":
                QemuTools.Create(baseImage, 4 * MiB, 4096, compatV2: true);
                QemuTools.Create(top, 8 * MiB, 65536, "base.qcow2", compatV2: true, workingDirectory: temp.Path);
                return top;
            case "dirty":
                // qemu-io's abort leaves the dirty bit that lazy refcounts set on the first allocating write.
                CreateWithOptions(top, "lazy_refcounts=on");
                var io = QemuTools.Io("-f", "qcow2", "-c", "write -P 0x5a 0 65536", "-c", "abort", top);
                Assert.True(io.ExitCode != 0, $"qemu-io abort did not abort: {Expect.Describe(io)}");
                return top;
            case "corrupt":
                CreateWithOptions(top, "compat=1.1");
                SetHeaderBit(top, incompatibleBit: 1);
                return top;
            case "backing-in-parent-folder":
                QemuTools.Create(baseImage, 4 * MiB);
                Directory.CreateDirectory(temp.Combine("sub"));
                QemuTools.Create(Path.Combine("sub", "top.qcow2"), 4 * MiB, backing: "../base.qcow2", workingDirectory: temp.Path);
                return temp.Combine(Path.Combine("sub", "top.qcow2"));
            case "absolute-backing-name":
                QemuTools.Create(baseImage, 4 * MiB, 4096);
                QemuTools.Create(top, 4 * MiB, backing: baseImage);
                return top;
            case "missing-backing-file":
                QemuTools.Create(baseImage, 4 * MiB);
                QemuTools.Create(top, 4 * MiB, backing: "base.qcow2", workingDirectory: temp.Path);
                File.Delete(baseImage);
                return top;
            case "name-with-space-and-plus":
                var odd = temp.Combine("a b+c.qcow2");
                QemuTools.Create(odd, 2 * MiB);
                QemuTools.Create(top, 2 * MiB, backing: "a b+c.qcow2", workingDirectory: temp.Path);
                return top;
            default:
                throw new ArgumentException($"unknown scenario {scenario}", nameof(scenario));
        }
    }

    private static void CreateWithOptions(string path, string options)
    {
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", options, path, "4M").EnsureSuccess();
    }

    private static void SetHeaderBit(string path, int incompatibleBit)
    {
        // incompatible_features is a big-endian u64 at offset 72: bit n of the low byte lives at offset 79.
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = 79;
        var value = file.ReadByte();
        file.Position = 79;
        file.WriteByte((byte)(value | (1 << incompatibleBit)));
    }

    private void Compare(string image, PathMode mode, bool backingChain, string tag, List<string> failures)
    {
        var arg = ImageArg.For(image, mode);
        var where = $"image={arg.Name} (run from {arg.WorkingDirectory}, {mode}){(backingChain ? " --backing-chain" : string.Empty)}";
        string[] qemuArgs = backingChain ? ["info", "--output=json", "--backing-chain", arg.Name] : ["info", "--output=json", arg.Name];
        string[] ourArgs = backingChain ? ["image", "info", "--output", "json", "--backing-chain", arg.Name] : ["image", "info", "--output", "json", arg.Name];
        var qemu = Expect.Exit(Tools.QemuImg(arg.WorkingDirectory, qemuArgs), 0, $"{tag} {where}");
        var ours = Tools.Orchestrator(arg.WorkingDirectory, ourArgs);
        output.WriteLine($"info {where}: exit {ours.ExitCode}");
        if (ours.ExitCode != 0)
        {
            failures.Add($"{where}: exit code {ours.ExitCode}{Environment.NewLine}{Expect.Describe(ours)}");
        }
        else if (InfoFields.Difference(qemu.StdOut, ours.StdOut) is { } difference)
        {
            failures.Add($"{where}: {difference}");
        }
    }
}
