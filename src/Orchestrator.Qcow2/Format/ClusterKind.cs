namespace Orchestrator.Qcow2.Format;

/// <summary>What an L2 entry says about a guest cluster.</summary>
public enum ClusterKind
{
    /// <summary>Not allocated here: reads come from the backing file (or zeros without one).</summary>
    Unallocated,

    /// <summary>Reads as zeros, no host cluster (v3 zero flag, offset 0).</summary>
    Zero,

    /// <summary>Reads as zeros but keeps its preallocated host cluster (v3 zero flag with an offset).</summary>
    ZeroAllocated,

    /// <summary>Plain data at a host cluster.</summary>
    Data,

    /// <summary>zlib-compressed data at a host byte offset.</summary>
    Compressed,
}
