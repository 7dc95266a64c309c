using Orchestrator.Qcow2.Check;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Unit;

/// <summary>Images qemu-img check calls clean must check clean here too (no false leaks or corruptions).</summary>
public sealed class QemuCreatedImageCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new("qcow2-check");

    [Theory]
    [InlineData("data")]
    [InlineData("compressed")]
    [InlineData("snapshot")]
    [InlineData("bitmap")]
    public void CleanQemuImageChecksClean(string feature)
    {
        var path = _dir.Combine($"{feature}.qcow2");
        QemuTools.Create(path, 4L << 20);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 192k", "-c", "write -c -P 0x22 256k 128k", "-c", "write -z 1M 64k", path)
            .EnsureSuccess();
        switch (feature)
        {
            case "snapshot":
                QemuTools.Img("snapshot", "-c", "s1", path).EnsureSuccess();
                QemuTools.Io("-f", "qcow2", "-c", "write -P 0x33 64k 64k", path).EnsureSuccess();
                break;
            case "bitmap":
                QemuTools.Img("bitmap", "--add", path, "b0").EnsureSuccess();
                break;
        }

        Assert.Equal(0, QemuTools.Check(path).ExitCode);

        using var image = Qcow2Image.Open(path, ImageOpenOptions.ReadOnly());
        var result = ImageChecker.Check(image, repairLeaks: false);

        Assert.True(result.ExitCode == 0, $"{feature}: exit {result.ExitCode}: {string.Join("; ", result.Messages.Take(5))}");
    }

    public void Dispose() => _dir.Dispose();
}
