using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Orchestrator.Cli.Output;
using Orchestrator.Cli.Parsing;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Check;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator demo: the main job on one machine with nothing to install. Builds a chain A &lt;- B &lt;- C &lt;- D with
/// our own writer, streams D with base A (the seed's "block_stream virtio0 A"), and proves the guest view did not change.
/// </summary>
public static class DemoCommand
{
    public static Command Build() => new Command("demo", "Build a chain [A] -> [B] -> [C] -> [D] and stream D with base A, then prove the guest view did not change").With(
        Opt.Value("--dir", "DIR", "folder for the chain (default: a new folder under the temporary folder)"),
        Opt.Value("--size", "SIZE", "virtual size of the disk (default 1G)"),
        Opt.Choice("-t", "cache mode (default writeback)", CacheOption.Modes),
        Opt.Value("--seed", "N", "seed of the random content (default: random, printed)")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var size = SizeParser.Parse(cl.Value("--size") ?? "1G", "--size");
        var seed = int.Parse(cl.Value("--seed") ?? Random.Shared.Next(1, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            System.Globalization.CultureInfo.InvariantCulture);
        var dir = cl.Value("--dir") ?? Path.Combine(Path.GetTempPath(), $"orchestrator-demo-{Environment.ProcessId}");
        var cache = CacheOption.Parse(cl.Value("-t"), "-t");
        Directory.CreateDirectory(dir);
        var names = new[] { "A.qcow2", "B.qcow2", "C.qcow2", "D.qcow2" };
        if (names.Any(n => File.Exists(Path.Combine(dir, n))))
        {
            throw new UsageException($"'{dir}' already holds a demo chain; pass another --dir or remove it");
        }

        Console.WriteLine($"Building the chain [A] -> [B] -> [C] -> [D] in {dir} ({Bytes.Human(size)} virtual, seed {seed})");
        BuildChain(dir, names, size, seed);
        var top = Path.Combine(dir, "D.qcow2");
        var before = GuestDigest(top);
        Console.WriteLine($"Guest view of D before: sha256 {before[..16]}...");

        var clock = Stopwatch.StartNew();
        var bar = new ProgressBar("Stream D (base A)");
        var result = OfflineStream.Run(top, new OfflineStream.Options { BasePath = Path.Combine(dir, "A.qcow2"), TopCache = cache, BackingCache = cache }, bar);
        bar.Complete(result.BytesCopied);
        Console.WriteLine($"Streamed {Bytes.Human(result.BytesCopied)} in {clock.Elapsed.TotalSeconds:0.00} s; D's backing file is now '{result.NewBackingFile}'");

        var after = GuestDigest(top);
        using var chain = ImageChain.Open(top, new ChainOpenOptions());
        using var image = Qcow2Image.Open(top, ImageOpenOptions.ReadOnly());
        var check = ImageChecker.Check(image, repairLeaks: false);
        Console.WriteLine($"Chain now: {string.Join(" -> ", chain.DisplayNames.Reverse().Select(Path.GetFileName))}");
        Console.WriteLine($"Guest view of D after:  sha256 {after[..16]}... {(after == before ? "(identical)" : "(DIFFERENT!)")}");
        Console.WriteLine($"Check of D: {(check.ExitCode == 0 ? "no errors" : $"{check.Corruptions} corruptions, {check.Leaks} leaks")}");
        return after == before && check.ExitCode == 0 && chain.Images.Count == 2 ? 0 : 1;
    }

    /// <summary>A gets 1/8 of the disk, B and C 1/16 each, D 1/64, in random extents of 1..16 clusters; some zero writes.</summary>
    private static void BuildChain(string dir, string[] names, long size, int seed)
    {
        var random = new Random(seed);
        var fractions = new[] { 1 / 8.0, 1 / 16.0, 1 / 16.0, 1 / 64.0 };
        const int cluster = 65536;
        var buffer = new byte[16 * cluster];
        for (var layer = 0; layer < names.Length; layer++)
        {
            var path = Path.Combine(dir, names[layer]);
            var options = new ImageCreateOptions { Size = size, BackingFile = layer == 0 ? null : names[layer - 1], BackingFormat = "qcow2" };
            Qcow2Image.Create(path, options).Dispose();
            using var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true });
            var budget = (long)(size * fractions[layer]);
            while (budget > 0)
            {
                var clusters = random.Next(1, 17);
                var offset = random.NextInt64(0, (size / cluster) - clusters) * cluster;
                var length = clusters * cluster;
                if (layer > 0 && random.NextDouble() < 0.05)
                {
                    chain.WriteZeroes(offset, length);
                }
                else
                {
                    buffer.AsSpan(0, length).Fill((byte)random.Next(1, 256));
                    chain.Write(offset, buffer.AsSpan(0, length));
                }

                budget -= length;
            }

            chain.Flush();
        }
    }

    private static string GuestDigest(string top)
    {
        using var chain = ImageChain.Open(top, new ChainOpenOptions());
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4 * 1024 * 1024];
        for (var offset = 0L; offset < chain.VirtualSize; offset += buffer.Length)
        {
            var n = (int)Math.Min(buffer.Length, chain.VirtualSize - offset);
            chain.Read(offset, buffer.AsSpan(0, n));
            sha.AppendData(buffer, 0, n);
        }

        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
