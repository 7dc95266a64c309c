using System.Diagnostics;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The storage roots as a security boundary, tried as a hostile API client would against a real node: every way a
/// request could make the node open a file outside the roots (or hang on one inside) is refused with a clear error,
/// and afterwards the node still serves, the guest never read an outside byte over NBD, and the images check clean.
/// Outside images hold 0x6f where the inside ones have nothing, so a guest backed onto one would read it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfinementTests(NbdNodeFixture fixture) : IClassFixture<NbdNodeFixture>
{
    private const string OutsidePattern = "0x6f";

    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task A_backing_name_through_a_symlinked_folder_and_dotdot_that_lands_outside_is_refused()
    {
        var outside = Confine.Outside(Node);
        var o = Confine.OutsideImage(Node, "sym-O.qcow2");
        Directory.CreateDirectory(Path.Combine(outside, "sym-sub"));
        File.CreateSymbolicLink(Node.Image("sym-link"), Path.Combine(outside, "sym-sub"));
        var top = Node.Image("sym-top.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", "sym-link/../sym-O.qcow2", "-F", "qcow2", top, Chains.Size.ToString()).EnsureSuccess();
        var qemu = QemuTools.Io("-f", "qcow2", "-r", "-c", $"read -P {OutsidePattern} 0 1M", top);
        Assert.True(NbdGuest.Succeeded(qemu), "QEMU itself follows the symlink before '..' and reaches the outside image: " + qemu.StdOut + qemu.StdErr);

        var add = await Node.CliAsync("disk", "add", "sym", top);

        Assert.NotEqual(0, add.ExitCode);
        Assert.Contains("outside the storage roots", add.StdErr, StringComparison.Ordinal);
        await Confine.AssertNotServedAsync(Node, "sym");
        await Confine.AssertServesAsync(Node, "sym-ok");
        Confine.AssertClean(top, o);
    }

    [Theory]
    [InlineData("outside")]
    [InlineData("missing")]
    [InlineData("passwd")]
    [InlineData("raw")]
    public async Task A_stream_backing_file_that_does_not_name_the_base_is_refused(string kind)
    {
        var id = $"bf-{kind}";
        var (@base, mid, top) = Chains.Create(Node.StorageRoot, id);
        var before = Node.Image($"{id}-before.raw");
        QemuTools.ConvertToRaw(top, before);
        (await Node.CliAsync("disk", "add", id, top)).EnsureSuccess();
        var backingFile = kind switch
        {
            "outside" => Confine.OutsideImage(Node, $"{id}-O.qcow2"),
            "missing" => "does-not-exist.qcow2",
            "passwd" => "/etc/passwd",
            _ => Confine.RawFile(Node.Image($"{id}-plain.raw")),
        };

        var stream = await Node.CliAsync("stream", id, "--base", Path.GetFileName(@base), "--backing-file", backingFile, "--wait");

        Assert.True(stream.ExitCode != 0, $"the stream was accepted with backing file '{backingFile}':\n{stream.StdOut}");
        Assert.Contains("backing-file", stream.StdErr, StringComparison.Ordinal);
        Assert.Equal("[]", (await Node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut.Trim());
        var show = Json.Parse((await Node.CliAsync("disk", "show", id, "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal([top, mid, @base], show.GetProperty("chain").EnumerateArray().Select(p => p.GetString()));
        Confine.AssertExportEquals(Node, id, before);
        Confine.AssertClean(top, mid, @base);
    }

    [Fact]
    public async Task A_stream_backing_file_naming_the_base_by_another_spelling_is_accepted_and_written_as_given()
    {
        var (@base, _, top) = Chains.Create(Node.StorageRoot, "bf-ok");
        var before = Node.Image("bf-ok-before.raw");
        QemuTools.ConvertToRaw(top, before);
        (await Node.CliAsync("disk", "add", "bf-ok", top)).EnsureSuccess();

        var stream = await Node.CliAsync("stream", "bf-ok", "--base", Path.GetFileName(@base), "--backing-file", "./bf-ok-base.qcow2", "--wait");

        Assert.True(stream.ExitCode == 0, stream.StdErr);
        Assert.Contains("\"backing-filename\": \"./bf-ok-base.qcow2\"", QemuTools.InfoJson(top, backingChain: false), StringComparison.Ordinal);
        Confine.AssertExportEquals(Node, "bf-ok", before);
        Confine.AssertClean(top, @base);
    }

    [Fact]
    public async Task A_symlink_repointed_outside_before_a_snapshot_makes_the_snapshot_fail_and_the_guest_stays_inside()
    {
        var real = Node.Image("swap-real.qcow2");
        QemuTools.Create(real, Chains.Size);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 16M", real).EnsureSuccess();
        var link = Node.Image("swap-disk.qcow2");
        File.CreateSymbolicLink(link, "swap-real.qcow2");
        (await Node.CliAsync("disk", "add", "swap", link)).EnsureSuccess();
        var o = Confine.OutsideImage(Node, "swap-O.qcow2");
        File.Delete(link);
        File.CreateSymbolicLink(link, o);

        var snapshot = await Node.CliAsync("snapshot", "swap", Node.Image("swap-snap.qcow2"));

        Assert.True(snapshot.ExitCode != 0, "the snapshot was taken over a chain that now leads outside:\n" + snapshot.StdOut);
        Assert.Contains("outside the storage roots", snapshot.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(Node.Image("swap-snap.qcow2")), "a refused snapshot leaves no overlay behind");
        var read = QemuTools.Io("-f", "raw", "-r", "-c", "read -P 0x11 0 16M", Confine.UnixUri(Node, "swap"));
        Assert.True(NbdGuest.Succeeded(read), "the guest must still read its own image: " + read.StdOut + read.StdErr);
        await Confine.AssertServesAsync(Node, "swap-ok");
        Confine.AssertClean(real, o);
    }

    [Fact]
    public async Task A_fifo_as_an_image_or_as_a_backing_file_is_refused_quickly_and_the_node_serves_other_disks()
    {
        var fifo = Confine.Fifo(Node.Image("fifo.qcow2"));
        Confine.Fifo(Node.Image("fifo-back.qcow2"));
        var top = Node.Image("fifo-top.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", "fifo-back.qcow2", "-F", "qcow2", top, Chains.Size.ToString()).EnsureSuccess();

        foreach (var (id, path) in new[] { ("fifo", fifo), ("fifo-top", top) })
        {
            var clock = Stopwatch.StartNew();
            var add = await Node.CliAsync("disk", "add", id, path);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"registering {path} took {clock.Elapsed}");
            Assert.NotEqual(0, add.ExitCode);
            Assert.Contains("not a regular file", add.StdErr, StringComparison.Ordinal);
            await Confine.AssertNotServedAsync(Node, id);
        }

        // No qemu-img check of fifo-top.qcow2: qemu-img itself would block opening its FIFO backing file.
        await Confine.AssertServesAsync(Node, "fifo-ok");
    }
}
