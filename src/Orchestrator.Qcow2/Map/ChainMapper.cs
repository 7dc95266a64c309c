using System.Text;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Map;

/// <summary>Produces qemu-img map's view of a chain: which layer decides each range, and where its data lives.</summary>
public static class ChainMapper
{
    public static IEnumerable<MapEntry> Map(ImageChain chain)
    {
        MapEntry? pending = null;
        foreach (var entry in RawEntries(chain))
        {
            if (pending is null)
            {
                pending = entry;
            }
            else if (pending.CanAbsorb(entry))
            {
                pending = pending with { Length = pending.Length + entry.Length };
            }
            else
            {
                yield return pending;
                pending = entry;
            }
        }

        if (pending is not null)
        {
            yield return pending;
        }
    }

    /// <summary>The whole map as qemu-img map --output=json prints it.</summary>
    public static string ToQemuJson(IEnumerable<MapEntry> entries)
    {
        var text = new StringBuilder("[");
        var first = true;
        foreach (var entry in entries)
        {
            text.Append(first ? "" : ",\n").Append(entry.ToQemuJson());
            first = false;
        }

        return text.Append(']').ToString();
    }

    private static IEnumerable<MapEntry> RawEntries(ImageChain chain)
    {
        var preallocated = new Dictionary<int, bool>();
        var offset = 0L;
        var size = chain.VirtualSize;
        while (offset < size)
        {
            var (depth, extent) = chain.Resolve(offset, size - offset);
            var image = chain.Images[depth];
            var entry = extent.Kind switch
            {
                ClusterKind.Unallocated => new MapEntry(offset, extent.Length, depth, false, true, false, null),
                ClusterKind.Zero => new MapEntry(offset, extent.Length, depth, true, true, false, null),
                ClusterKind.ZeroAllocated => new MapEntry(offset, extent.Length, depth, true, true, false, extent.HostOffset),
                ClusterKind.Compressed => new MapEntry(offset, extent.Length, depth, true, false, true, null),
                _ when IsMetadataPreallocated(image, depth, preallocated) => DataEntry(image, offset, extent, depth),
                _ => new MapEntry(offset, extent.Length, depth, true, false, true, extent.HostOffset),
            };
            yield return entry;
            offset += entry.Length;
        }
    }

    /// <summary>
    /// QEMU 7.2's qcow2_detect_metadata_preallocation: an image counts as metadata-preallocated when it has many more
    /// clusters with a refcount than the file really occupies; only then does block status ask the host file about holes.
    /// </summary>
    private static bool IsMetadataPreallocated(Qcow2Image image, int depth, Dictionary<int, bool> cache)
    {
        if (cache.TryGetValue(depth, out var known))
        {
            return known;
        }

        var realClusters = image.File.AllocatedBytes() / image.ClusterSize;
        var threshold = Math.Max(realClusters * 10 / 9, realClusters + 2);
        var fileClusters = (image.File.Length + image.ClusterSize - 1) / image.ClusterSize;
        var counted = 0L;
        for (var c = 0L; c < fileClusters && counted < threshold; c++)
        {
            if (image.Refcounts.Get(c) > 0)
            {
                counted++;
            }
        }

        cache[depth] = counted >= threshold;
        return cache[depth];
    }

    /// <summary>
    /// Like QEMU, a data range is also asked of the host file: a hole (or the region past the end of the file)
    /// reads as zeros and is reported with "zero": true, which splits the range.
    /// </summary>
    private static MapEntry DataEntry(Qcow2Image image, long offset, Extent extent, int depth)
    {
        var host = extent.HostOffset;
        var fileLength = image.File.Length;
        if (host >= fileLength)
        {
            return new MapEntry(offset, extent.Length, depth, true, true, true, host);
        }

        var dataStart = image.File.Seek(host, data: true);
        if (dataStart == host)
        {
            var holeStart = image.File.Seek(host, data: false);
            return new MapEntry(offset, Math.Min(extent.Length, Math.Max(holeStart - host, 1)), depth, true, false, true, host);
        }

        var holeLength = Math.Max(Math.Min(dataStart, fileLength) - host, 0);
        var length = holeLength == 0 ? extent.Length : Math.Min(extent.Length, holeLength);
        return new MapEntry(offset, length, depth, true, true, true, host);
    }
}
