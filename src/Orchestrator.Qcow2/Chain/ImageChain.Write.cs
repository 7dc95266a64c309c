using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Chain;

public sealed partial class ImageChain
{
    /// <summary>Clusters handled per allocating write call, so a huge request does not need a huge buffer.</summary>
    private const int MaxClustersPerCall = 256;

    /// <summary>
    /// Writes guest data into the top image. Clusters already allocated as data are overwritten in place; others are
    /// allocated, and a partial write fills the rest of the cluster from what the guest currently sees (copy-on-write).
    /// </summary>
    public void Write(long offset, ReadOnlySpan<byte> data) => WriteCore(offset, data.Length, data, zeroes: false, unmap: false);

    /// <summary>Makes a range read as zeros: zero clusters on version 3 for whole clusters, zero data otherwise.</summary>
    public void WriteZeroes(long offset, long length) => WriteCore(offset, length, default, zeroes: true, unmap: false);

    /// <summary>
    /// A discard (NBD trim): like <see cref="WriteZeroes"/>, and on version 3 the whole clusters in the range also give
    /// their host clusters back to the free pool, as QEMU's discard does (<c>qemu-img check</c> then counts no leak and
    /// later writes reuse them). Version 2 has no zero flag: the range is written as zeroes and keeps its clusters.
    /// </summary>
    public void Discard(long offset, long length) => WriteCore(offset, length, default, zeroes: true, unmap: Top.Header.Version >= 3);

    /// <summary>Makes every write so far durable: commit the deferred metadata in order, then flush.</summary>
    public void Flush()
    {
        Top.CommitStaged();
        Top.Flush();
    }

    /// <summary>Deferred guest metadata is committed at a flush, or once this many clusters are pending.</summary>
    private const int MaxPendingClusters = 4096;

    private void WriteCore(long offset, long length, ReadOnlySpan<byte> data, bool zeroes, bool unmap)
    {
        if (offset < 0 || length < 0 || offset + length > VirtualSize)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.OutOfBounds,
                $"write of {length} bytes at {offset} is outside the virtual size {VirtualSize}", Top.Path, offset, "writing");
        }

        var top = Top;
        var cs = top.ClusterSize;
        var end = offset + length;
        while (offset < end)
        {
            var extent = top.GetExtent(offset, end - offset);
            if (extent.Kind == ClusterKind.Data && !zeroes)
            {
                var n = (int)extent.Length;
                top.WriteInPlace(extent.HostOffset, data[..n]);
                data = data[n..];
                offset += n;
                continue;
            }

            var firstCluster = offset / cs;
            var lastCluster = (Math.Min(offset + extent.Length, end) - 1) / cs;
            var count = (int)Math.Min(lastCluster - firstCluster + 1, MaxClustersPerCall);
            var runStart = firstCluster * cs;
            var runEnd = Math.Min((firstCluster + count) * cs, VirtualSize);
            var buffer = new byte[count * cs];
            var writeEnd = Math.Min(end, runEnd);
            var fullyCovered = offset == runStart && writeEnd == runEnd;
            if (!fullyCovered || (zeroes && top.Header.Version < 3))
            {
                // Copy-on-write: the cluster's current guest view, then the new bytes over it.
                ReadFrom(0, runStart, buffer.AsSpan(0, (int)(runEnd - runStart)));
            }

            var length32 = (int)(writeEnd - offset);
            var target = buffer.AsSpan((int)(offset - runStart), length32);
            if (zeroes)
            {
                target.Clear();
            }
            else
            {
                data[..length32].CopyTo(target);
                data = data[length32..];
            }

            var zeroHints = new bool[count];
            if (zeroes)
            {
                for (var i = 0; i < count; i++)
                {
                    zeroHints[i] = buffer.AsSpan(i * cs, cs).IndexOfAnyExcept((byte)0) < 0;
                }
            }

            top.WriteClustersDeferred([new ClusterRun(firstCluster, count)], buffer, zeroHints, unmap);
            if (top.PendingClusters >= MaxPendingClusters)
            {
                top.CommitStaged();
            }

            offset = writeEnd;
        }
    }
}
