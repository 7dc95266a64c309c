using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Every registered disk exported over NBD by a real node, used by real clients: nbdinfo, qemu-io, nbdcopy, over the
/// data folder's Unix socket and over TCP; guest writes through NBD during a stream and across a live snapshot.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeNbdTests(NbdNodeFixture fixture, ITestOutputHelper output) : IClassFixture<NbdNodeFixture>
{
    private NodeProcess Node => fixture.Node;

    private string Socket => Path.Combine(Node.DataDirectory, NodePaths.NbdSocketFile);

    private string UnixUri(string disk) => $"nbd+unix:///{disk}?socket={Socket}";

    /// <summary>A base &lt;- mid &lt;- top chain registered as disk <paramref name="id"/>; returns the top's path.</summary>
    private async Task<string> AddDiskAsync(string id)
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, id);
        (await Node.CliAsync("disk", "add", id, top)).EnsureSuccess();
        return top;
    }

    [Fact]
    public async Task Disk_show_gives_the_nbd_uris_and_nbdinfo_lists_every_disk_with_its_size()
    {
        await AddDiskAsync("nl1");
        await AddDiskAsync("nl2");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Socket));
        var show = Json.Parse((await Node.CliAsync("disk", "show", "nl1", "--output", "json")).EnsureSuccess().StdOut);
        var nbd = show.GetProperty("nbd");
        Assert.Equal(UnixUri("nl1"), nbd.GetProperty("unix").GetString());
        var tcp = nbd.GetProperty("tcp").GetString()!;
        Assert.Matches(@"^nbd://127\.0\.0\.1:[1-9][0-9]*/nl1$", tcp);
        var human = (await Node.CliAsync("disk", "show", "nl1")).EnsureSuccess().StdOut;
        Assert.Contains($"nbd: {UnixUri("nl1")}", human, StringComparison.Ordinal);

        var list = QemuTools.NbdInfoRun("--list", "--json", $"nbd+unix://?socket={Socket}").EnsureSuccess().StdOut;
        var exports = JsonDocument.Parse(list).RootElement.GetProperty("exports").EnumerateArray()
            .ToDictionary(e => e.GetProperty("export-name").GetString()!, e => e.GetProperty("export-size").GetInt64());
        Assert.Equal(Chains.Size, exports["nl1"]);
        Assert.Equal(Chains.Size, exports["nl2"]);

        // The same export over TCP.
        var overTcp = JsonDocument.Parse(QemuTools.NbdInfoRun("--json", tcp).EnsureSuccess().StdOut).RootElement.GetProperty("exports")[0];
        Assert.Equal(Chains.Size, overTcp.GetProperty("export-size").GetInt64());
    }

    [Fact]
    public async Task Qemu_io_writes_over_the_unix_socket_and_reads_back_over_both_and_the_image_holds_it()
    {
        var top = await AddDiskAsync("nio");
        var write = QemuTools.Io("-f", "raw", "-c", "write -P 0x5a 6M 2M", "-c", "write -z 40M 1M", "-c", "flush", UnixUri("nio"));
        Assert.True(NbdGuest.Succeeded(write), write.StdOut + write.StdErr);

        var tcp = Json.Parse((await Node.CliAsync("disk", "show", "nio", "--output", "json")).EnsureSuccess().StdOut).GetProperty("nbd").GetProperty("tcp").GetString()!;
        foreach (var uri in new[] { UnixUri("nio"), tcp })
        {
            // 0x5a where written, zeroes where zeroed, the chain's own data around them (mid's 0x21 at 4M, base's 0x12 at 32M).
            var read = QemuTools.Io("-f", "raw", "-c", "read -P 0x5a 6M 2M", "-c", "read -P 0 40M 1M", "-c", "read -P 0x21 4M 2M", "-c", "read -P 0x12 32M 4M", uri);
            Assert.True(NbdGuest.Succeeded(read), $"{uri}: {read.StdOut}{read.StdErr}");
        }

        (await Node.CliAsync("disk", "remove", "nio")).EnsureSuccess();
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
        var image = QemuTools.Io("-f", "qcow2", "-r", "-c", "read -P 0x5a 6M 2M", "-c", "read -P 0 40M 1M", top);
        Assert.True(NbdGuest.Succeeded(image), image.StdOut + image.StdErr);
    }

    [Fact]
    public async Task Nbdcopy_of_the_export_equals_qemu_img_convert_of_the_chain()
    {
        var top = await AddDiskAsync("ncp");
        var converted = Node.Image("ncp-convert.raw");
        QemuTools.ConvertToRaw(top, converted);
        var copied = Node.Image("ncp-nbdcopy.raw");
        QemuTools.NbdCopyRun(UnixUri("ncp"), copied).EnsureSuccess();
        Assert.True(File.ReadAllBytes(converted).AsSpan().SequenceEqual(File.ReadAllBytes(copied)), "nbdcopy's copy differs from qemu-img convert's");
    }

    [Fact]
    public void An_unknown_export_fails_with_a_message_naming_it()
    {
        var result = QemuTools.Io("-f", "raw", "-c", "read 0 512", UnixUri("no-such-disk"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.True(result.StdErr.Contains("unknown export 'no-such-disk'", StringComparison.Ordinal), result.StdErr);
    }

    [Fact]
    public async Task Removing_a_disk_closes_its_nbd_connections_and_leaves_the_other_disks_served()
    {
        await AddDiskAsync("nrm");
        await AddDiskAsync("nrm2");

        // One qemu-io attached across the removal: it reads, sleeps while the disk is removed, and reads again.
        var attached = ProcessRunner.RunAsync(QemuTools.QemuIo, ["-f", "raw", "-c", "read -P 0x31 6M 64k", "-c", "sleep 3000", "-c", "read 6M 64k", UnixUri("nrm")]);
        await Task.Delay(1000);
        (await Node.CliAsync("disk", "remove", "nrm")).EnsureSuccess();
        var result = await attached;
        output.WriteLine(result.StdOut + result.StdErr);
        Assert.Contains("read 65536/65536 bytes at offset 6291456", result.StdOut, StringComparison.Ordinal);
        Assert.True(result.StdOut.Split("read 65536/65536").Length == 2 && result.StdOut.Contains("read failed", StringComparison.Ordinal), $"the read after the removal did not fail:\n{result.StdOut}{result.StdErr}");

        var again = QemuTools.Io("-f", "raw", "-c", "read 0 512", UnixUri("nrm"));
        Assert.Contains("unknown export 'nrm'", again.StdErr, StringComparison.Ordinal);
        var stillServed = QemuTools.Io("-f", "raw", "-c", "read -P 0x31 6M 64k", UnixUri("nrm2"));
        Assert.True(NbdGuest.Succeeded(stillServed), stillServed.StdOut + stillServed.StdErr);
    }

    [Fact]
    public async Task Guest_writes_through_nbd_during_a_stream_and_across_a_snapshot_all_survive()
    {
        var seed = RandomChainBuilder.ChooseSeed();
        var context = $"[seed {seed}]";
        output.WriteLine($"{RandomChainBuilder.SeedVariable}={seed}");
        var top = await AddDiskAsync("ngw");
        var model = Node.Image("ngw-model.raw");
        QemuTools.ConvertToRaw(top, model);
        var content = File.ReadAllBytes(model);

        var guest = new NbdGuest(UnixUri("ngw"), Chains.Size, new Random(seed));
        var groups = 0;
        var duringStream = 0;
        var streaming = false;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var writes = guest.RandomWrites(4, 192 * 1024);
                var (flushed, result) = await guest.WriteAndFlushAsync(writes);
                Assert.True(flushed, $"{context} a guest write group failed: {result.StdOut}{result.StdErr}");
                writes.ForEach(w => w.ApplyTo(content));
                groups++;
                duringStream += Volatile.Read(ref streaming) ? 1 : 0;
            }
        });

        // The stream of the active image, rate-limited so that it runs for a few seconds under the writes.
        await Task.Delay(300);
        Volatile.Write(ref streaming, true);
        (await Node.CliAsync("stream", "ngw", "--base", "ngw-base.qcow2", "--speed", "4M", "--wait")).EnsureSuccess();
        Volatile.Write(ref streaming, false);

        // A live snapshot while the writer goes on: its connection follows the disk to the new active image.
        var snapshot = Node.Image("ngw-snap.qcow2");
        (await Node.CliAsync("snapshot", "ngw", snapshot)).EnsureSuccess();
        var groupsAtSnapshot = groups;
        var clock = Stopwatch.StartNew();
        while (groups < groupsAtSnapshot + 4 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await writer;
        output.WriteLine($"{context} {groups} flush groups of 4 writes, {duringStream} while the stream ran, {groups - groupsAtSnapshot} after the snapshot");
        Assert.True(duringStream >= 3, $"{context} only {duringStream} write groups ran during the stream");
        Assert.True(groups >= groupsAtSnapshot + 4, $"{context} the writes after the snapshot did not go on");

        File.WriteAllBytes(model, content);
        var copied = Node.Image("ngw-nbdcopy.raw");
        QemuTools.NbdCopyRun(UnixUri("ngw"), copied).EnsureSuccess();
        var difference = FirstDifference(content, File.ReadAllBytes(copied));
        Assert.True(difference is null, $"{context} the export differs from the model at byte {difference}");

        (await Node.CliAsync("disk", "remove", "ngw")).EnsureSuccess();
        Assert.Equal(0, QemuTools.Check(snapshot).ExitCode);
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
        var compare = QemuTools.Compare(snapshot, model, fmtB: "raw");
        Assert.True(compare.ExitCode == 0, $"{context} qemu-img compare: {compare.StdOut}{compare.StdErr}");
        var chain = JsonDocument.Parse(QemuTools.InfoJson(snapshot, backingChain: true)).RootElement.EnumerateArray()
            .Select(i => Path.GetFileName(i.GetProperty("filename").GetString()!)).ToList();
        Assert.Equal(["ngw-snap.qcow2", "ngw-top.qcow2", "ngw-base.qcow2"], chain);
    }

    private static long? FirstDifference(byte[] expected, byte[] actual)
    {
        if (expected.Length != actual.Length)
        {
            return Math.Min(expected.Length, actual.Length);
        }

        var common = expected.AsSpan().CommonPrefixLength(actual);
        return common == expected.Length ? null : common;
    }
}
