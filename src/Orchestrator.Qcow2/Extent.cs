using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2;

/// <summary>
/// A run of guest bytes that one image maps the same way: where the data is, never the data itself.
/// <see cref="HostOffset"/> is the host byte offset of the run's first byte (Data, ZeroAllocated) or 0.
/// </summary>
public readonly record struct Extent(ClusterKind Kind, long HostOffset, long Length, ulong RawEntry)
{
    public bool IsAllocated => Kind != ClusterKind.Unallocated;
    public bool ReadsAsZero => Kind is ClusterKind.Zero or ClusterKind.ZeroAllocated;
}
