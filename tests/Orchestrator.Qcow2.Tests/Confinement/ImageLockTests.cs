using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Confinement;

/// <summary>
/// Our image locks and QEMU's see each other: the same OFD lock bytes (100 + permission held, 200 + permission not
/// shared). Tried against real qemu-io and qemu-nbd, never against a model of them.
/// </summary>
public sealed class ImageLockTests : IDisposable
{
    private readonly TempDirectory _dir = new("image-lock");

    [Fact]
    public void Qemu_io_cannot_write_an_image_we_hold_and_can_once_we_let_it_go()
    {
        var (@base, top) = Pair("held");
        using (var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true }))
        {
            var write = QemuTools.Io("-f", "qcow2", "-c", "write 0 4k", top);
            Assert.NotEqual(0, write.ExitCode);
            Assert.Contains("Failed to get \"write\" lock", write.StdErr, StringComparison.Ordinal);

            var read = QemuTools.Io("-f", "qcow2", "-r", "-c", "read 0 4k", top);
            Assert.Contains("Failed to get shared \"write\" lock", read.StdErr, StringComparison.Ordinal);
            Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-U", "-r", "-c", "read 0 4k", top).ExitCode);

            var backing = QemuTools.Io("-f", "qcow2", "-c", "write 0 4k", @base);
            Assert.Contains("Failed to get \"write\" lock", backing.StdErr, StringComparison.Ordinal);
            Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-r", "-c", "read 0 4k", @base).ExitCode);
        }

        var after = QemuTools.Io("-f", "qcow2", "-c", "write -P 0x44 0 4k", top);
        Assert.True(after.ExitCode == 0, after.StdErr);
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    [Fact]
    public void With_locking_off_qemu_io_is_not_stopped()
    {
        var (_, top) = Pair("off");
        using var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true, Locking = false });

        Assert.Equal(0, QemuTools.Io("-f", "qcow2", "-r", "-c", "read 0 4k", top).ExitCode);
    }

    [Fact]
    public void Opens_of_one_process_do_not_lock_each_other_out()
    {
        var (@base, top) = Pair("twice");
        using var writer = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true });
        using var reader = ImageChain.Open(top, new ChainOpenOptions());
        using var baseWriter = Qcow2Image.Open(@base, ImageOpenOptions.ReadWrite());

        Assert.Equal(2, reader.Images.Count);
    }

    [Fact]
    public async Task Our_open_of_an_image_a_running_qemu_nbd_writes_fails_clearly()
    {
        var (_, top) = Pair("nbd");
        var socket = _dir.Combine("nbd.sock");
        using var qemuNbd = await QemuLocks.StartQemuNbdAsync(top, socket);
        try
        {
            foreach (var writable in new[] { true, false })
            {
                var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(top, new ChainOpenOptions { WritableTop = writable }).Dispose());
                Assert.Equal(Qcow2ErrorKind.Locked, e.Kind);
                Assert.Contains("image is locked by another process", e.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            qemuNbd.Kill();
            await qemuNbd.WaitForExitAsync();
        }

        using var chain = ImageChain.Open(top, new ChainOpenOptions { WritableTop = true });
        Assert.Equal(2, chain.Images.Count);
    }

    private (string Base, string Top) Pair(string name)
    {
        var @base = _dir.Combine($"{name}-base.qcow2");
        var top = _dir.Combine($"{name}-top.qcow2");
        QemuTools.Create(@base, 4 << 20);
        QemuTools.Create(top, 4 << 20, backing: Path.GetFileName(@base), workingDirectory: _dir.Path);
        return (@base, top);
    }

    public void Dispose() => _dir.Dispose();
}
