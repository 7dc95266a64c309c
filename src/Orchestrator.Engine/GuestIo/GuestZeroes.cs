using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.GuestIo;

/// <summary>Which zeroing the active image can do as metadata only: zero clusters, which need qcow2 version 3.</summary>
internal static class GuestZeroes
{
    /// <summary>
    /// True when zeroing the range changes only L2 entries: version 3, and the range covers whole clusters (the last
    /// cluster of the disk counts as whole up to the disk's end). NBD's FAST_ZERO asks exactly this.
    /// </summary>
    public static bool IsFast(ImageChain chain, long offset, long length)
    {
        var cs = chain.Top.ClusterSize;
        var end = offset + length;
        return chain.Top.Header.Version >= 3 && offset % cs == 0 && (end % cs == 0 || end == chain.VirtualSize);
    }

    /// <summary>The whole clusters inside the range as (start, length) in bytes, or null on version 2 (no zero clusters).</summary>
    public static (long Start, long Length)? WholeClusters(ImageChain chain, long offset, long length)
    {
        if (chain.Top.Header.Version < 3)
        {
            return null;
        }

        long cs = chain.Top.ClusterSize;
        var start = (offset + cs - 1) / cs * cs;
        var end = offset + length == chain.VirtualSize ? chain.VirtualSize : (offset + length) / cs * cs;
        return (start, Math.Max(0, end - start));
    }
}
