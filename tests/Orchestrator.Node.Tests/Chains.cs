using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>qcow2 chains made by qemu-img and qemu-io: base &lt;- mid &lt;- top, each layer with its own data.</summary>
internal static class Chains
{
    public const long Size = 64L * 1024 * 1024;

    /// <summary>Creates PREFIX-base, PREFIX-mid, PREFIX-top in <paramref name="folder"/>; returns (base, mid, top) paths.</summary>
    public static (string Base, string Mid, string Top) Create(string folder, string prefix)
    {
        var @base = Path.Combine(folder, $"{prefix}-base.qcow2");
        var mid = Path.Combine(folder, $"{prefix}-mid.qcow2");
        var top = Path.Combine(folder, $"{prefix}-top.qcow2");
        QemuTools.Create(@base, Size);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 8M", "-c", "write -P 0x12 32M 4M", @base).EnsureSuccess();
        QemuTools.Create(mid, Size, backing: Path.GetFileName(@base), workingDirectory: folder);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x21 4M 8M", "-c", "write -P 0x22 48M 1M", mid).EnsureSuccess();
        QemuTools.Create(top, Size, backing: Path.GetFileName(mid), workingDirectory: folder);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x31 6M 1M", top).EnsureSuccess();
        return (@base, mid, top);
    }
}
