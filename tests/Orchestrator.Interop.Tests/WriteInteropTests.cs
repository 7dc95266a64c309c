using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Check;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// The same seeded writes through our <see cref="ImageChain"/> and through qemu-io, on identical copies of a chain:
/// our image must pass qemu-img check, read the same as qemu's, and read back through us as qemu converts it.
/// </summary>
public sealed class WriteInteropTests(ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;
    private const int OpsPerCase = 40;

    /// <summary>
    /// caseId; writeIntoQemuTop (else a new top made by our library); top cluster size; top v2;
    /// qemu-built backing layers; their cluster size; their v2; shorter backing files.
    /// </summary>
    public static TheoryData<int, bool, int, bool, int, int, bool, bool> Cases => new()
    {
        { 200, false, 65536, false, 0, 0, false, false },
        { 201, false, 4096, true, 0, 0, false, false },
        { 202, false, 512, false, 0, 0, false, false },
        { 203, false, 2 * MiB, false, 0, 0, false, false },
        { 204, false, 65536, false, 2, 65536, false, false },
        { 205, false, 4096, false, 3, 65536, false, true },
        { 206, false, 65536, true, 1, 4096, true, false },
        { 207, false, 2 * MiB, true, 2, 65536, false, true },
        { 208, false, 512, true, 2, 2 * MiB, false, false },
        { 209, true, 65536, false, 2, 65536, false, false },
        { 210, true, 4096, true, 3, 4096, true, true },
        { 211, true, 512, false, 1, 512, false, false },
        { 212, true, 2 * MiB, false, 2, 2 * MiB, false, false },
        { 213, true, 65536, true, 1, 65536, true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Write_SameSequenceAsQemuIo_GivesTheSameImage(
        int caseId, bool writeIntoQemuTop, int topClusterSize, bool topV2, int backingLayers, int backingClusterSize, bool backingV2,
        bool shorterBacking)
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("write");
        var ourDir = temp.Combine("ours");
        var size = SizeFor(Math.Max(topClusterSize, backingClusterSize));
        var description = $"{TestSeed.Tag(caseId)} ";
        string top;
        BuiltChain? chain = null;
        if (backingLayers > 0)
        {
            var spec = new ChainSpec
            {
                Layers = backingLayers,
                VirtualSize = shorterBacking && !writeIntoQemuTop ? size / 2 : size,
                ClusterSize = backingClusterSize,
                Compat = backingV2 ? ChainCompat.V2 : ChainCompat.V3,
                ShorterBackingFiles = shorterBacking,
                RelativeBackingNames = true,
                WritesPerLayer = 12,
                CompressedWriteFraction = 0.35,
                ZeroWriteFraction = 0.15,
            };
            chain = new RandomChainBuilder(TestSeed.Value, output.WriteLine).Build(ourDir, spec);
            description += chain.Describe();
        }
        else
        {
            Directory.CreateDirectory(ourDir);
            description += $"no backing chain in {temp.Path}";
        }

        if (writeIntoQemuTop)
        {
            top = chain!.Top;
            size = VirtualSizeOf(top);
        }
        else
        {
            top = Path.Combine(ourDir, "T.qcow2");

            // Odd cases end in a partial cluster, which the last cluster's copy-on-write must respect.
            if (caseId % 2 == 1)
            {
                size -= 3 * 512;
            }

            var options = new ImageCreateOptions
            {
                Size = size,
                ClusterSize = topClusterSize,
                Compat = topV2 ? "0.10" : "1.1",
                BackingFile = chain is null ? null : Path.GetFileName(chain.Top),
                BackingFormat = chain is null ? null : "qcow2",
            };
            Qcow2Image.Create(top, options).Dispose();
            description += $"; our top {Path.GetFileName(top)} size={size} cluster={topClusterSize} v{(topV2 ? 2 : 3)}";
        }

        var clusterSize = writeIntoQemuTop ? backingClusterSize : topClusterSize;
        var ops = new WritePlanner(TestSeed.ForCase(caseId), size, clusterSize, HotRanges(top)).Plan(OpsPerCase);
        var opsText = string.Join(Environment.NewLine, ops.Select((op, i) => $"  #{i}: {op}"));
        output.WriteLine($"writes:{Environment.NewLine}{opsText}");
        var tag = $"{description}{Environment.NewLine}writes (qemu-io syntax):{Environment.NewLine}{opsText}{Environment.NewLine}";

        // qemu's copy is taken before anything is written, so both sides start from the same bytes.
        var qemuDir = temp.Combine("qemu");
        ChainCopy.Folder(ourDir, qemuDir);
        var qemuTop = Path.Combine(qemuDir, Path.GetFileName(top));

        // Two sessions: the second writable open runs our open-time check on what the first one wrote.
        var half = ops.Count / 2;
        ApplyOurs(top, ops.Take(half));
        ApplyOurs(top, ops.Skip(half));
        ApplyQemu(qemuTop, ops, tag);

        Expect.Exit(QemuTools.Check(top), 0, $"qemu-img check of our image failed; {tag}");
        Expect.Exit(QemuTools.Compare(top, qemuTop), 0, $"our image and qemu-io's differ; {tag}");

        var raw = temp.Combine("ours.raw");
        QemuTools.ConvertToRaw(top, raw);
        Expect.SameBytes(File.ReadAllBytes(raw), ReadAll(top), $"reading our image back through ImageChain.Read vs qemu-img convert; {tag}");

        using var image = Qcow2Image.Open(top, ImageOpenOptions.ReadOnly());
        var ourCheck = ImageChecker.Check(image, repairLeaks: false);
        Assert.True(ourCheck.ExitCode == 0,
            $"our checker disagrees with qemu-img check (exit {ourCheck.ExitCode}: {string.Join("; ", ourCheck.Messages.Take(5))}); {tag}");
    }

    private static long SizeFor(int clusterSize) => clusterSize switch
    {
        512 => 4 * MiB,
        >= 2 * MiB => 16 * MiB,
        _ => 8 * MiB,
    };

    private static long VirtualSizeOf(string image)
    {
        using var opened = Qcow2Image.Open(image, ImageOpenOptions.ReadOnly());
        return opened.VirtualSize;
    }

    /// <summary>Compressed and zero ranges anywhere in the chain, per qemu-img map: the interesting targets for overwrites.</summary>
    private static List<(long Start, long Length)> HotRanges(string top)
    {
        return JsonMap.Parse(QemuTools.Map(top))
            .Where(e => e.Present && (e.Zero || (e.Data && e.Offset is null)))
            .Select(e => (e.Start, e.Length))
            .ToList();
    }

    private static void ApplyOurs(string top, IEnumerable<WriteOp> ops)
    {
        using var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true });
        foreach (var op in ops)
        {
            op.ApplyTo(chain);
        }

        chain.Flush();
    }

    private static void ApplyQemu(string top, IReadOnlyList<WriteOp> ops, string tag)
    {
        var args = new List<string> { "-f", "qcow2" };
        foreach (var op in ops)
        {
            args.Add("-c");
            args.Add(op.ToQemuIo());
        }

        args.Add(top);
        var result = QemuTools.Io([.. args]);
        Assert.True(result.ExitCode == 0 && !result.StdOut.Contains("failed", StringComparison.OrdinalIgnoreCase),
            $"qemu-io could not apply the writes (a test problem, not ours); {tag}{Expect.Describe(result)}");
    }

    private static byte[] ReadAll(string top)
    {
        using var chain = ImageChain.Open(top, new ChainOpenOptions());
        var data = new byte[chain.VirtualSize];
        chain.Read(0, data);
        return data;
    }
}
