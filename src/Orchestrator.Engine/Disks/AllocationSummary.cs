using Orchestrator.Domain.Disks;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Per image of a chain, what <c>disk show</c> reports: its size, cluster size, backing file and the bytes it allocates
/// itself. Reading every cluster's allocation grows with the disk's size, so it runs on a task, never per request.
/// </summary>
public static class AllocationSummary
{
    public static IReadOnlyList<DiskReplies.ImageSummary> Of(ImageChain chain) =>
        [.. chain.Images.Select((image, i) => Summarize(image, chain.DisplayNames[i]))];

    private static DiskReplies.ImageSummary Summarize(Qcow2Image image, string path)
    {
        var allocated = 0L;
        for (var offset = 0L; offset < image.VirtualSize;)
        {
            var extent = image.GetExtent(offset, image.VirtualSize - offset);
            if (extent.IsAllocated)
            {
                allocated += extent.Length;
            }

            offset += extent.Length;
        }

        return new DiskReplies.ImageSummary(Path.GetFullPath(path), image.VirtualSize, image.ClusterSize, allocated, image.Header.BackingFileName);
    }
}
