using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Engine.GuestIo;

/// <summary>
/// One guest write, its clusters locked exclusively. When every byte lands in clusters the active image already holds
/// as data, the write needs no metadata: the host offsets are looked up under the metadata lock and the data is
/// written after it is released, beside other requests. Otherwise (allocation, copy-on-write from the backing file,
/// zero or compressed clusters) the whole write runs under the metadata lock.
/// </summary>
internal readonly struct GuestWrite(ImageChain chain, ClusterRangeLock ranges, FairLock metadata)
{
    public void Run(long offset, ReadOnlySpan<byte> data)
    {
        GuestBounds.RequireInside(chain, offset, data.Length, "writing");

        if (data.IsEmpty)
        {
            return;
        }

        var top = chain.Top;
        using (ranges.Enter(offset, data.Length, top.ClusterSize, exclusive: true))
        {
            List<(long Host, int At, int Length)>? pieces;
            using (metadata.Enter())
            {
                pieces = InPlacePieces(top, offset, data);
                if (pieces is null)
                {
                    chain.Write(offset, data);
                    return;
                }
            }

            foreach (var (host, at, length) in pieces)
            {
                top.WriteDataInPlace(data.Slice(at, length), host);
            }
        }
    }

    /// <summary>The host runs the write overwrites, or null when part of it needs metadata or the bounce buffer.</summary>
    private static List<(long Host, int At, int Length)>? InPlacePieces(Qcow2Image top, long offset, ReadOnlySpan<byte> data)
    {
        var pieces = new List<(long, int, int)>();
        var at = 0;
        while (at < data.Length)
        {
            var extent = top.GetExtent(offset + at, data.Length - at);
            var length = (int)extent.Length;
            if (extent.Kind != ClusterKind.Data || !top.CanAccessConcurrently(data.Slice(at, length), extent.HostOffset))
            {
                return null;
            }

            pieces.Add((extent.HostOffset, at, length));
            at += length;
        }

        return pieces;
    }
}
