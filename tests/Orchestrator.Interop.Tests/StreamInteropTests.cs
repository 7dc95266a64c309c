using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// <c>orchestrator image stream</c> on chains built by QEMU: the guest view must not change, the image must check clean,
/// the chain must end at the base, and no image below the top may be touched. Cases follow qemu-iotests 030.
/// </summary>
public sealed class StreamInteropTests(ITestOutputHelper output)
{
    private const int MiB = 1024 * 1024;

    /// <summary>caseId, cluster size, v2, layers, shorter backing files, relative backing names, base ("bottom", "middle", "none"), -t none -T none, path mode.</summary>
    public static TheoryData<int, int, bool, int, bool, bool, string, bool, PathMode> Cases => new()
    {
        { 400, 65536, false, 3, false, true, "bottom", false, PathMode.Relative },
        { 401, 65536, false, 4, false, false, "middle", false, PathMode.Absolute },
        { 402, 4096, true, 3, false, true, "none", false, PathMode.Relative },
        { 403, 512, false, 4, true, true, "bottom", false, PathMode.Nested },
        { 404, 2 * MiB, false, 3, false, true, "bottom", true, PathMode.Relative },
        { 405, 65536, true, 4, true, true, "none", false, PathMode.Absolute },
        { 406, 4096, false, 3, false, false, "bottom", true, PathMode.Absolute },
        { 407, 65536, false, 4, true, true, "middle", true, PathMode.Nested },
        { 408, 65536, true, 3, true, false, "bottom", false, PathMode.Relative },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stream_RandomChain_KeepsGuestViewAndEndsAtBase(
        int caseId, int clusterSize, bool v2, int layers, bool shorterBacking, bool relativeBackingNames, string baseChoice, bool cacheNone,
        PathMode mode)
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("stream");
        var chain = Build(temp, layers, clusterSize, v2, shorterBacking, relativeBackingNames);
        var basePath = baseChoice switch
        {
            "bottom" => chain.Bottom,
            "middle" => chain.ImagePaths[1],
            _ => (string?)null,
        };
        var tag = $"{TestSeed.Tag(caseId)} {chain.Describe()}; stream base={baseChoice} cacheNone={cacheNone} {mode}";
        var reference = chain.WriteReferenceRaw(temp.Combine("ref.raw"));
        var below = Fingerprints(chain.ImagePaths.SkipLast(1));

        var result = Stream(chain.Top, basePath, mode, cacheNone, tag);
        Assert.True(result.StdOut.Length == 0, $"{tag}: stream printed on stdout: {result.StdOut}");

        AssertSameGuestView(chain.Top, reference, tag);
        Expect.Exit(QemuTools.Check(chain.Top), 0, $"{tag}: qemu-img check after the stream");
        // TOP -> BASE, then whatever was below the base.
        var kept = basePath is null ? 0 : chain.ImagePaths.ToList().IndexOf(basePath) + 1;
        AssertChain(chain.Top, [chain.Top, .. chain.ImagePaths.Take(kept).Reverse()], tag);
        AssertUnchanged(below, tag);
    }

    /// <summary>030 "test_stream_no_op" style: the base is the image directly under the top, so there is nothing to copy.</summary>
    [Fact]
    public void Stream_BaseDirectlyUnderTop_CopiesNothing()
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("stream-noop");
        var chain = Build(temp, 3, 65536, v2: false, shorterBacking: false, relativeBackingNames: true);
        var tag = $"{TestSeed.Tag(410)} {chain.Describe()}; stream --base {Path.GetFileName(chain.ImagePaths[1])}";
        var reference = chain.WriteReferenceRaw(temp.Combine("ref.raw"));
        var mapBefore = QemuTools.Map(chain.Top);
        var lengthBefore = new FileInfo(chain.Top).Length;
        var below = Fingerprints(chain.ImagePaths.SkipLast(1));

        Stream(chain.Top, chain.ImagePaths[1], PathMode.Relative, cacheNone: false, tag);

        // Same extents, depths and host offsets; the hole hints may differ because the stream read the files (see WithoutHostHoleHints).
        var mapChange = JsonMap.FirstDifference(
            JsonMap.WithoutHostHoleHints(JsonMap.Parse(mapBefore)),
            JsonMap.WithoutHostHoleHints(JsonMap.Parse(QemuTools.Map(chain.Top))),
            compareOffsets: true);
        Assert.True(mapChange is null, $"{tag}: the top's map changed (qemu-img map before vs after): {mapChange}");
        Assert.True(new FileInfo(chain.Top).Length == lengthBefore, $"{tag}: the top grew from {lengthBefore} to {new FileInfo(chain.Top).Length} bytes");
        AssertSameGuestView(chain.Top, reference, tag);
        Expect.Exit(QemuTools.Check(chain.Top), 0, $"{tag}: qemu-img check after the stream");
        AssertChain(chain.Top, [.. chain.ImagePaths.Reverse()], tag);
        AssertUnchanged(below, tag);
    }

    /// <summary>030 "test_stream_intermediate" style: stream into a middle image; the active top still reads the same.</summary>
    [Fact]
    public void Stream_IntoIntermediateImage_TopStillReadsTheSame()
    {
        TestSeed.Announce(output);
        using var temp = new TempDirectory("stream-mid");
        var chain = Build(temp, 4, 65536, v2: false, shorterBacking: false, relativeBackingNames: true);
        var target = chain.ImagePaths[2];
        var tag = $"{TestSeed.Tag(411)} {chain.Describe()}; stream --base {Path.GetFileName(chain.Bottom)} {Path.GetFileName(target)}";
        var topReference = chain.WriteReferenceRaw(temp.Combine("top.raw"));
        var targetReference = temp.Combine("target.raw");
        QemuTools.ConvertToRaw(target, targetReference);
        var untouched = Fingerprints([chain.ImagePaths[0], chain.ImagePaths[1], chain.Top]);

        Stream(target, chain.Bottom, PathMode.Relative, cacheNone: false, tag);

        AssertSameGuestView(target, targetReference, $"{tag} (the streamed image)");
        AssertSameGuestView(chain.Top, topReference, $"{tag} (the active top above it)");
        Expect.Exit(QemuTools.Check(target), 0, $"{tag}: qemu-img check of the streamed image");
        AssertChain(target, [target, chain.Bottom], tag);
        AssertChain(chain.Top, [chain.Top, target, chain.Bottom], tag);
        AssertUnchanged(untouched, tag);
    }

    /// <summary>
    /// Past the end of a shorter intermediate image the guest reads zeros, not the longer base below it; QEMU's stream
    /// treats that range as allocated (zeros) in the intermediate. Chain: A (8 MiB, all 0xaa) &lt;- B (4 MiB, empty) &lt;- C (8 MiB).
    /// </summary>
    [Fact]
    public void Stream_PastEndOfShorterIntermediate_StillReadsZeros()
    {
        using var temp = new TempDirectory("stream-short");
        var a = temp.Combine("A.qcow2");
        var b = temp.Combine("B.qcow2");
        var c = temp.Combine("C.qcow2");
        QemuTools.Create(a, 8 * MiB);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0xaa 0 8M", a).EnsureSuccess();
        QemuTools.Create(b, 4 * MiB, backing: "A.qcow2", workingDirectory: temp.Path);
        QemuTools.Create(c, 8 * MiB, backing: "B.qcow2", workingDirectory: temp.Path);
        var reference = temp.Combine("ref.raw");
        QemuTools.ConvertToRaw(c, reference);
        var tag = $"A(8M, 0xaa) <- B(4M, empty) <- C(8M) in {temp.Path}; stream --base A.qcow2 C.qcow2";

        Stream(c, a, PathMode.Relative, cacheNone: false, tag);

        AssertSameGuestView(c, reference, $"{tag}: C must still read zeros from 4 MiB on");
        Expect.Exit(QemuTools.Check(c), 0, $"{tag}: qemu-img check after the stream");
        AssertChain(c, [c, a], tag);
    }

    private BuiltChain Build(TempDirectory temp, int layers, int clusterSize, bool v2, bool shorterBacking, bool relativeBackingNames)
    {
        var spec = new ChainSpec
        {
            Layers = layers,
            VirtualSize = clusterSize switch { 512 => 4 * MiB, >= 2 * MiB => 16 * MiB, _ => 8 * MiB },
            ClusterSize = clusterSize,
            Compat = v2 ? ChainCompat.V2 : ChainCompat.V3,
            ShorterBackingFiles = shorterBacking,
            RelativeBackingNames = relativeBackingNames,
            WritesPerLayer = 16,
        };
        return new RandomChainBuilder(TestSeed.Value, output.WriteLine).Build(temp.Combine("chain"), spec);
    }

    private ProcessResult Stream(string top, string? basePath, PathMode mode, bool cacheNone, string tag)
    {
        var topArg = ImageArg.For(top, mode);
        var args = new List<string> { "image", "stream" };
        if (cacheNone)
        {
            args.AddRange(["-t", "none", "-T", "none"]);
        }

        if (basePath is not null)
        {
            args.AddRange(["--base", ImageArg.For(basePath, mode).Name]);
        }

        args.Add(topArg.Name);
        var result = Expect.Exit(Tools.Orchestrator(topArg.WorkingDirectory, [.. args]), 0, $"{tag}: the stream failed");
        output.WriteLine($"stream: {result.CommandLine} -> {result.StdErr.Trim()}");
        return result;
    }

    private static void AssertSameGuestView(string image, string referenceRaw, string tag)
    {
        var compare = QemuTools.Compare(image, referenceRaw, "qcow2", "raw");
        Expect.Exit(compare, 0, $"{tag}: guest view changed (qemu-img compare -f qcow2 -F raw against the reference taken before)");
    }

    /// <summary>qemu-img info --backing-chain must list exactly <paramref name="expected"/>, top first.</summary>
    private static void AssertChain(string top, IReadOnlyList<string> expected, string tag)
    {
        var json = QemuTools.InfoJson(top, backingChain: true);
        using var doc = JsonDocument.Parse(json);
        var actual = doc.RootElement.EnumerateArray().Select(e => Path.GetFullPath(e.GetProperty("filename").GetString()!)).ToList();
        var wanted = expected.Select(Path.GetFullPath).ToList();
        Assert.True(actual.SequenceEqual(wanted),
            $"{tag}: backing chain is [{string.Join(" -> ", actual)}], expected [{string.Join(" -> ", wanted)}]{Environment.NewLine}{json}");
        foreach (var image in doc.RootElement.EnumerateArray().SkipLast(1))
        {
            Assert.True(image.TryGetProperty("backing-filename-format", out var format) && format.GetString() == "qcow2",
                $"{tag}: backing format of {image.GetProperty("filename")} is not qcow2{Environment.NewLine}{json}");
        }
    }

    private static Dictionary<string, string> Fingerprints(IEnumerable<string> images) =>
        images.ToDictionary(p => p, p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))));

    private static void AssertUnchanged(Dictionary<string, string> before, string tag)
    {
        foreach (var (path, hash) in before)
        {
            Assert.True(Fingerprints([path])[path] == hash, $"{tag}: {path} was modified, but only the streamed image may be written");
        }
    }
}
