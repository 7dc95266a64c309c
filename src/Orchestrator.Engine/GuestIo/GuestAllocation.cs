using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Engine.GuestIo;

/// <summary>
/// The chain's allocation as a guest sees it (NBD base:allocation, and what qemu-img map calls data): a range is data
/// when the layer that decides it holds data (plain or compressed) there, and zero otherwise (zero clusters, or
/// unallocated down to the bottom of the chain).
/// </summary>
internal static class GuestAllocation
{
    /// <summary>At most <paramref name="maxRuns"/> runs covering a prefix of the range, neighbours merged. Caller holds the metadata lock.</summary>
    public static IReadOnlyList<(long Length, bool Data)> Runs(ImageChain chain, long offset, long length, int maxRuns)
    {
        var runs = new List<(long Length, bool Data)>();
        var end = offset + length;
        while (offset < end)
        {
            var (_, extent) = chain.Resolve(offset, end - offset);
            var data = extent.Kind is ClusterKind.Data or ClusterKind.Compressed;
            if (runs.Count > 0 && runs[^1].Data == data)
            {
                runs[^1] = (runs[^1].Length + extent.Length, data);
            }
            else if (runs.Count == maxRuns)
            {
                break;
            }
            else
            {
                runs.Add((extent.Length, data));
            }

            offset += extent.Length;
        }

        return runs;
    }
}
