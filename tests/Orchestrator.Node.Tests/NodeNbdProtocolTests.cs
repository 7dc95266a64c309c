using System.Globalization;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The node's concurrent NBD server seen by real clients: block status against image map, several connections,
/// requests in flight overlapping and not, discard and write-zeroes as qemu-img map sees them, and its memory.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeNbdProtocolTests(NbdNodeFixture fixture, ITestOutputHelper output) : IClassFixture<NbdNodeFixture>
{
    private NodeProcess Node => fixture.Node;

    private string UnixUri(string disk) => $"nbd+unix:///{disk}?socket={Path.Combine(Node.DataDirectory, NodePaths.NbdSocketFile)}";

    private async Task<string> AddDiskAsync(string id)
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, id);
        (await Node.CliAsync("disk", "add", id, top)).EnsureSuccess();
        return top;
    }

    [Fact]
    public async Task Nbdinfo_map_equals_image_map_of_the_chain()
    {
        var top = await AddDiskAsync("pmap");
        // A zeroed range too, so the map has zero clusters in the top as well as data in every layer and holes.
        Assert.True(NbdGuest.Succeeded(QemuTools.Io("-f", "raw", "-c", "write -z 4M 1M", "-c", "flush", UnixUri("pmap"))));

        var nbd = Runs(QemuTools.NbdInfoRun("--map", UnixUri("pmap")).EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), (int.Parse(f[2], CultureInfo.InvariantCulture) & 1) == 0)));
        var map = (await Orchestrator.RunAsync(["image", "map", "--output", "json", "-U", top], Node.StorageRoot)).EnsureSuccess().StdOut;
        var image = Runs(JsonDocument.Parse(map).RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64(), e.GetProperty("data").GetBoolean())));
        output.WriteLine(string.Join("\n", nbd));
        Assert.Equal(image, nbd);
        Assert.Contains((4L * 1024 * 1024, 1L * 1024 * 1024, false), nbd);
    }

    [Fact]
    public async Task Nbdcopy_with_four_connections_fills_the_export_and_qemu_img_compare_over_nbd_finds_it_equal()
    {
        await AddDiskAsync("pcopy");
        var source = Node.Image("pcopy-source.raw");
        var bytes = new byte[Chains.Size];
        new Random(17).NextBytes(bytes.AsSpan(0, (int)Chains.Size / 2));
        await File.WriteAllBytesAsync(source, bytes);

        QemuTools.NbdCopyRun("--connections", "4", "--requests", "16", "--flush", source, UnixUri("pcopy")).EnsureSuccess();
        var compare = QemuTools.Compare(source, UnixUri("pcopy"), "raw", "raw");
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);

        var back = Node.Image("pcopy-back.raw");
        QemuTools.NbdCopyRun("--connections", "4", UnixUri("pcopy"), back).EnsureSuccess();
        var copied = await File.ReadAllBytesAsync(back);
        Assert.True(bytes.AsSpan().SequenceEqual(copied), "the copy read back over four connections differs");
    }

    [Fact]
    public async Task Qemu_io_aio_requests_in_flight_overlapping_and_not_all_land_whole()
    {
        var top = await AddDiskAsync("paio");
        var args = new List<string> { "-f", "raw" };
        // 32 disjoint writes (some into allocated clusters, some allocating), then 8 pairs that overlap.
        for (var i = 0; i < 32; i++)
        {
            args.AddRange(["-c", $"aio_write -P {0x40 + i} {(i * 640) + 4096}k 64k"]);
        }

        for (var i = 0; i < 8; i++)
        {
            args.AddRange(["-c", $"aio_write -P 0x{0xa0 + i:x} {40 + i}M 96k", "-c", $"aio_write -P 0x{0xb0 + i:x} {40 + i}M 96k"]);
        }

        args.AddRange(["-c", "aio_flush", "-c", "flush", UnixUri("paio")]);
        Assert.True(NbdGuest.Succeeded(QemuTools.Io([.. args])));

        var reads = new List<string> { "-f", "raw" };
        for (var i = 0; i < 32; i++)
        {
            reads.AddRange(["-c", $"aio_read -P {0x40 + i} {(i * 640) + 4096}k 64k"]);
        }

        reads.AddRange(["-c", "aio_flush", UnixUri("paio")]);
        var read = QemuTools.Io([.. reads]);
        Assert.True(NbdGuest.Succeeded(read), read.StdOut + read.StdErr);

        // Each overlapping pair: the range is wholly one of the two writes, never a mix (writes on the same clusters take turns).
        var raw = Node.Image("paio.raw");
        QemuTools.NbdCopyRun(UnixUri("paio"), raw).EnsureSuccess();
        var content = await File.ReadAllBytesAsync(raw);
        for (var i = 0; i < 8; i++)
        {
            var range = content.AsSpan((40 + i) * 1024 * 1024, 96 * 1024);
            var first = range[0];
            Assert.True(first == 0xa0 + i || first == 0xb0 + i, $"pair {i} starts with 0x{first:x2}");
            Assert.True(range.IndexOfAnyExcept(first) < 0, $"pair {i} mixes the two writes");
        }

        (await Node.CliAsync("disk", "remove", "paio")).EnsureSuccess();
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    [Fact]
    public async Task Discard_and_write_zeroes_over_nbd_leave_zero_clusters_that_qemu_img_map_shows()
    {
        var top = await AddDiskAsync("pzero");
        // top holds 0x31 at 6M..7M, mid 0x21 at 4M..12M, base 0x11 at 0..8M.
        var io = QemuTools.Io("-f", "raw", "-c", "discard 6M 1M", "-c", "write -z 8M 1M", "-c", "write -z -u 10M 64k", "-c", "discard 9M 1000",
            "-c", "flush", "-c", "read -P 0 6M 1M", "-c", "read -P 0 8M 1M", "-c", "read -P 0 10M 64k", "-c", "read -P 0x21 9M 4096", UnixUri("pzero"));
        Assert.True(NbdGuest.Succeeded(io), io.StdOut + io.StdErr);

        (await Node.CliAsync("disk", "remove", "pzero")).EnsureSuccess();
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
        var entries = JsonDocument.Parse(QemuTools.Map(top)).RootElement.EnumerateArray()
            .Select(e => (Start: e.GetProperty("start").GetInt64(), Length: e.GetProperty("length").GetInt64(), Depth: e.GetProperty("depth").GetInt32(),
                Zero: e.GetProperty("zero").GetBoolean(), Data: e.GetProperty("data").GetBoolean())).ToList();
        foreach (var (start, length) in new[] { (6L << 20, 1L << 20), (8L << 20, 1L << 20), (10L << 20, 64L << 10) })
        {
            Assert.Contains(entries, e => e.Start <= start && e.Start + e.Length >= start + length && e.Depth == 0 && e.Zero && !e.Data);
        }
    }

    [Fact]
    public async Task A_hostile_client_gets_einval_past_the_end_has_unaligned_trims_served_and_vanishes_with_100_requests_in_flight()
    {
        var top = await AddDiskAsync("phostile");
        var script = Path.Combine(AppContext.BaseDirectory, "Guests", "hostile_client.py");
        var run = await ProcessRunner.RunAsync(Qd16Guest.Python, [script, UnixUri("phostile")], timeout: TimeSpan.FromMinutes(1));
        output.WriteLine(run.StdOut + run.StdErr);
        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
        var answers = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(f => f[0], f => f[1]);
        // As qemu-nbd answers the same requests: past the end is EINVAL, a trim is advisory wherever it lies inside.
        var expected = new Dictionary<string, string>
        {
            ["block-status-at-end"] = "errno=EINVAL",
            ["block-status-across-end"] = "errno=EINVAL",
            ["block-status-far-past-end"] = "errno=EINVAL",
            ["block-status-last-byte"] = "ok",
            ["trim-unaligned-inside"] = "ok",
            ["trim-sub-cluster"] = "ok",
            ["trim-last-bytes"] = "ok",
            ["trim-across-end"] = "errno=EINVAL",
            ["write-after"] = "ok",
            ["in-flight"] = "100",
        };
        Assert.Equal(expected, answers);

        // The node goes on serving the disk. The unaligned trim (6M+1000, 200K) zeroed only the whole clusters inside it.
        var io = QemuTools.Io("-f", "raw", "-c", "read -P 0x5a 0 512", "-c", "read -P 0x31 6M 64k", "-c", "read -P 0 6208k 128k",
            "-c", "read -P 0x31 6336k 832k", UnixUri("phostile"));
        Assert.True(NbdGuest.Succeeded(io), io.StdOut + io.StdErr);

        // Each of the 50 writes cut off in flight landed whole or not at all.
        var raw = Node.Image("phostile.raw");
        QemuTools.NbdCopyRun(UnixUri("phostile"), raw).EnsureSuccess();
        var content = await File.ReadAllBytesAsync(raw);
        for (var i = 1; i < 100; i += 2)
        {
            var range = content.AsSpan((40 * 1024 * 1024) + (i * 65536), 65536);
            Assert.True(range.IndexOfAnyExcept((byte)0x77) < 0 || range.IndexOfAnyExcept((byte)0) < 0, $"write {i} cut off in flight left a mix");
        }

        (await Node.CliAsync("disk", "remove", "phostile")).EnsureSuccess();
        var check = QemuTools.Check(top);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        var trimmed = JsonDocument.Parse(QemuTools.Map(top)).RootElement.EnumerateArray()
            .Any(e => e.GetProperty("start").GetInt64() <= 6208 * 1024 && e.GetProperty("start").GetInt64() + e.GetProperty("length").GetInt64() >= 6336 * 1024
                && e.GetProperty("depth").GetInt32() == 0 && e.GetProperty("zero").GetBoolean() && !e.GetProperty("data").GetBoolean());
        Assert.True(trimmed, "qemu-img map does not show the trimmed clusters as zero in the top");
    }

    [Fact]
    public async Task Thirty_two_connections_reading_32_MiB_each_give_their_memory_back_when_they_close()
    {
        await AddDiskAsync("pmem");
        var warm = QemuTools.Io("-f", "raw", "-c", "read 0 32M", UnixUri("pmem"));
        Assert.True(NbdGuest.Succeeded(warm), warm.StdOut + warm.StdErr);
        await Task.Delay(1000);
        var before = RssMiB();

        var readers = Enumerable.Range(0, 32).Select(i => ProcessRunner.RunAsync(QemuTools.QemuIo, ["-f", "raw", "-c", $"read {i % 2 * 32}M 32M", UnixUri("pmem")])).ToList();
        var peak = before;
        while (!readers.All(r => r.IsCompleted))
        {
            peak = Math.Max(peak, RssMiB());
            await Task.Delay(20);
        }

        Assert.All(await Task.WhenAll(readers), r => Assert.True(NbdGuest.Succeeded(r), r.StdOut + r.StdErr));
        var after = RssMiB();
        for (var i = 0; i < 50 && after > before + 64; i++)
        {
            await Task.Delay(100);
            after = RssMiB();
        }

        output.WriteLine($"node RSS: {before} MiB before, {peak} MiB at the peak seen, {after} MiB after the 32 connections closed");
        Assert.True(after <= before + 64, $"RSS {after} MiB after the connections closed, more than 64 MiB above the {before} MiB before");
    }

    private long RssMiB()
    {
        var line = File.ReadLines($"/proc/{Node.ProcessId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>Ranges as (start, length, data), neighbours of the same kind merged: both maps in one shape.</summary>
    private static List<(long Start, long Length, bool Data)> Runs(IEnumerable<(long Start, long Length, bool Data)> entries)
    {
        var runs = new List<(long Start, long Length, bool Data)>();
        foreach (var entry in entries)
        {
            if (runs.Count > 0 && runs[^1].Data == entry.Data && runs[^1].Start + runs[^1].Length == entry.Start)
            {
                runs[^1] = runs[^1] with { Length = runs[^1].Length + entry.Length };
            }
            else
            {
                runs.Add(entry);
            }
        }

        return runs;
    }
}
