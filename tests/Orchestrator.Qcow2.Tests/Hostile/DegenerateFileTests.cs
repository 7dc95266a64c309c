using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>Files that are not images at all, or images cut short after a valid header: a clear Qcow2Exception, never a crash.</summary>
public sealed class DegenerateFileTests : IDisposable
{
    private readonly TempDirectory _dir = new("qcow2-degenerate");

    [Theory]
    [InlineData(65536)]
    [InlineData(4096)]
    [InlineData(512)]
    [InlineData(112)]
    public void ImageTruncatedAfterAValidHeaderGivesAClearError(int length)
    {
        var path = _dir.Combine($"cut-{length}.qcow2");
        QemuTools.Create(path, 1L << 30);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 128k", path).EnsureSuccess();
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(length);
        }

        foreach (var writable in new[] { false, true })
        {
            var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, new ImageOpenOptions { Writable = writable }).Dispose());
            Assert.True(e.Kind is Qcow2ErrorKind.Corrupt or Qcow2ErrorKind.InvalidFormat, $"{e.Kind}: {e.Message}");
            Assert.Equal(path, e.Path);
            Assert.Matches("beyond the end of the file|runs past the header|too small", e.Message);
        }
    }

    [Fact]
    public void ImageTruncatedInTheMiddleOfItsDataReadsWithoutCrashing()
    {
        // QEMU reads bytes past the end of the file as zeros; what matters here is that nothing but our exception escapes.
        var path = _dir.Combine("cut-data.qcow2");
        QemuTools.Create(path, 4L << 20);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 1M", path).EnsureSuccess();
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(file.Length - (512 * 1024) - 100);
        }

        using var chain = ImageChain.Open(path, new ChainOpenOptions());
        var buffer = new byte[1 << 20];
        chain.Read(0, buffer);
        Assert.Equal(0x11, buffer[0]);
        Assert.Equal(0, buffer[^1]);
    }

    [Fact]
    public void FileOfAllZerosIsNotAQcow2Image()
    {
        var path = _dir.Combine("zeros.img");
        File.WriteAllBytes(path, new byte[1 << 20]);

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()));

        Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("not a qcow2 image", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFileIsTooSmall()
    {
        var path = _dir.Combine("empty.qcow2");
        File.WriteAllBytes(path, []);

        foreach (var writable in new[] { false, true })
        {
            var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, new ImageOpenOptions { Writable = writable }));
            Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
            Assert.Contains("too small", e.Message, StringComparison.Ordinal);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(40)]
    [InlineData(71)]
    public void MagicFollowedByTooFewBytesIsTooSmall(int length)
    {
        var path = _dir.Combine($"short-{length}.qcow2");
        var bytes = new byte[length];
        new byte[] { 0x51, 0x46, 0x49, 0xFB }.CopyTo(bytes, 0);
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()));

        Assert.Equal(Qcow2ErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("too small", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DirectoryPathGivesAClearError(bool writable)
    {
        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(_dir.Path, new ImageOpenOptions { Writable = writable }).Dispose());

        Assert.Contains("directory", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(_dir.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryPathThroughTheChainGivesAClearError()
    {
        var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(_dir.Path, new ChainOpenOptions()).Dispose());
        Assert.Contains("directory", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MissingFileGivesAnIoErrorNamingThePath()
    {
        var path = _dir.Combine("does-not-exist.qcow2");

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(path, ImageOpenOptions.ReadOnly()));

        Assert.Equal(Qcow2ErrorKind.Io, e.Kind);
        Assert.Contains("No such file", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsNotFound, "ENOENT must be told by its errno, not by the wording");
        Assert.Equal(2, e.Errno);
        Assert.Equal(path, e.Path);
    }

    public void Dispose() => _dir.Dispose();
}
