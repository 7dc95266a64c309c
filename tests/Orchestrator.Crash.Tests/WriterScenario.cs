using System.Globalization;

namespace Orchestrator.Crash.Tests;

/// <summary>One CrashWriter configuration: the top's format and cache mode, and the backing file's cluster size.</summary>
internal sealed record WriterScenario(int ClusterSize, int RefcountBits, long VirtualSize, bool Direct, string Compat, int BackingClusterSize)
{
    public string CreateOptions =>
        string.Create(CultureInfo.InvariantCulture, $"cluster_size={ClusterSize},refcount_bits={RefcountBits},compat={Compat}");

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"top cluster {ClusterSize} refcount_bits {RefcountBits} compat {Compat} size {VirtualSize >> 20} MiB "
            + $"cache {(Direct ? "direct" : "page")} backing cluster {BackingClusterSize}");
}
