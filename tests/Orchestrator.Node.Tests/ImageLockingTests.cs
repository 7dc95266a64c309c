using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// The node locks its images as QEMU does (OFD locks on the same bytes), so a real qemu-io without -U cannot write an
/// image the node owns until the node lets it go, and the node refuses an image a running qemu-nbd writes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ImageLockingTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Qemu_io_cannot_write_an_image_the_node_owns_until_the_node_releases_it()
    {
        var (@base, _, top) = Chains.Create(Node.StorageRoot, "lk");
        (await Node.CliAsync("disk", "add", "lk", top)).EnsureSuccess();

        var active = QemuTools.Io("-f", "qcow2", "-c", "write 0 4k", top);
        Assert.NotEqual(0, active.ExitCode);
        Assert.Contains("Failed to get \"write\" lock", active.StdErr, StringComparison.Ordinal);
        var backing = QemuTools.Io("-f", "qcow2", "-c", "write 0 4k", @base);
        Assert.Contains("lock", backing.StdErr, StringComparison.Ordinal);
        Assert.NotEqual(0, backing.ExitCode);

        // Our own image commands lock as qemu-img does, and -U (force-share) reads anyway.
        var info = await Orchestrator.RunAsync(["image", "info", "--output", "json", top], Node.StorageRoot);
        Assert.NotEqual(0, info.ExitCode);
        Assert.Contains("image is locked by another process", info.StdErr, StringComparison.Ordinal);
        (await Orchestrator.RunAsync(["image", "info", "--output", "json", "-U", top], Node.StorageRoot)).EnsureSuccess();
        Assert.Equal(0, (await Orchestrator.RunAsync(["image", "check", "-U", top], Node.StorageRoot)).ExitCode);

        (await Node.CliAsync("disk", "remove", "lk")).EnsureSuccess();

        var after = QemuTools.Io("-f", "qcow2", "-c", "write -P 0x44 0 4k", top);
        Assert.True(NbdGuest.Succeeded(after), after.StdOut + after.StdErr);
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    [Fact]
    public async Task The_node_refuses_an_image_a_running_qemu_nbd_writes_and_takes_it_once_qemu_nbd_is_gone()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "lq");
        var socket = Path.Combine(Node.Root, "lq.sock");
        using var qemuNbd = await QemuLocks.StartQemuNbdAsync(top, socket);
        try
        {
            var add = await Node.CliAsync("disk", "add", "lq", top);

            Assert.NotEqual(0, add.ExitCode);
            Assert.Contains("image is locked by another process", add.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            qemuNbd.Kill();
            await qemuNbd.WaitForExitAsync();
        }

        (await Node.CliAsync("disk", "add", "lq", top)).EnsureSuccess();
        var read = QemuTools.Io("-f", "raw", "-r", "-c", "read -P 0x31 6M 1M", Confine.UnixUri(Node, "lq"));
        Assert.True(NbdGuest.Succeeded(read), read.StdOut + read.StdErr);
    }
}
