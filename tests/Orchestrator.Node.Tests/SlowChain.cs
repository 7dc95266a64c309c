using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A chain whose stream copies 48 MiB: at a speed limit of 1 MiB/s it runs for most of a minute, long enough to watch
/// it (scrapes, a browser) on a loaded machine, and the tests cancel it when they are done.
/// </summary>
internal static class SlowChain
{
    public const long Size = 64L * 1024 * 1024;

    /// <summary>Creates PREFIX-base and PREFIX-top (48 MiB of data in top's backing layer PREFIX-mid); returns (base, top).</summary>
    public static (string Base, string Top) Create(string folder, string prefix)
    {
        var @base = Path.Combine(folder, $"{prefix}-base.qcow2");
        var mid = Path.Combine(folder, $"{prefix}-mid.qcow2");
        var top = Path.Combine(folder, $"{prefix}-top.qcow2");
        QemuTools.Create(@base, Size);
        QemuTools.Create(mid, Size, backing: Path.GetFileName(@base), workingDirectory: folder);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x21 0 48M", mid).EnsureSuccess();
        QemuTools.Create(top, Size, backing: Path.GetFileName(mid), workingDirectory: folder);
        return (@base, top);
    }
}
