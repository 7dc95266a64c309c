using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.GuestIo;

/// <summary>
/// One guest read: where the bytes are is resolved under the metadata lock (zeroes and compressed clusters are filled
/// in there), and the data clusters are read after it is released, beside other requests. The clusters stay locked
/// shared meanwhile, so no write changes them under the read.
/// </summary>
internal readonly struct GuestRead(ImageChain chain, ClusterRangeLock ranges, FairLock metadata)
{
    public void Run(long offset, Span<byte> buffer)
    {
        GuestBounds.RequireInside(chain, offset, buffer.Length, "reading");

        if (buffer.IsEmpty)
        {
            return;
        }

        var reads = new List<RawRead>();
        using (ranges.Enter(offset, buffer.Length, chain.Top.ClusterSize, exclusive: false))
        {
            using (metadata.Enter())
            {
                chain.PlanRead(0, offset, buffer, 0, reads);
                for (var i = reads.Count - 1; i >= 0; i--)
                {
                    var read = reads[i];
                    var part = buffer.Slice(read.BufferOffset, read.Length);
                    if (!read.Image.CanAccessConcurrently(part, read.HostOffset))
                    {
                        // Unaligned with O_DIRECT: the image file's one bounce buffer is shared, so this read runs here.
                        read.Image.ReadData(part, read.HostOffset);
                        reads.RemoveAt(i);
                    }
                }
            }

            foreach (var read in reads)
            {
                read.Image.ReadData(buffer.Slice(read.BufferOffset, read.Length), read.HostOffset);
            }
        }
    }
}
