using System.Diagnostics;
using Orchestrator.Domain.Disks;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Per image of a chain, what <c>disk show</c> reports: its size, cluster size, backing file and the bytes it allocates
/// itself. Reading every cluster's allocation grows with the disk's size, so it runs on a task, never per request, and
/// on a live disk in slices (<see cref="Step"/>), so the guest's requests for the metadata lock get it in between.
/// </summary>
public sealed class AllocationSummary(ImageChain chain)
{
    private readonly long[] _allocated = new long[chain.Images.Count];
    private int _image;
    private long _offset;

    /// <summary>The whole scan at once (an image nobody else uses yet: registration's probe).</summary>
    public static IReadOnlyList<DiskReplies.ImageSummary> Of(ImageChain chain)
    {
        var scan = new AllocationSummary(chain);
        scan.Step(TimeSpan.MaxValue);
        return scan.Result!;
    }

    /// <summary>
    /// The scan of a live disk, in steps of about <paramref name="slice"/> under its metadata lock, so a guest request
    /// waits for one step at most; started again on the new chain if a snapshot or a commit switches it meanwhile.
    /// <paramref name="underLock"/> runs at the start of each step, under the lock (a test's way to know when it holds it).
    /// </summary>
    public static IReadOnlyList<DiskReplies.ImageSummary> OfLive(LiveDisk live, TimeSpan slice, Action? underLock = null)
    {
        while (true)
        {
            AllocationSummary? scan = null;
            if (live.InSlices(chain =>
                {
                    underLock?.Invoke();
                    return (scan ??= new AllocationSummary(chain)).Step(slice);
                }))
            {
                return scan!.Result!;
            }
        }
    }

    /// <summary>Scans on from where the last step stopped, for about <paramref name="budget"/>; true once done.</summary>
    public bool Step(TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        while (_image < chain.Images.Count)
        {
            var image = chain.Images[_image];
            while (_offset < image.VirtualSize)
            {
                var extent = image.GetExtent(_offset, image.VirtualSize - _offset);
                if (extent.IsAllocated)
                {
                    _allocated[_image] += extent.Length;
                }

                _offset += extent.Length;
                if (clock.Elapsed >= budget)
                {
                    return false;
                }
            }

            _image++;
            _offset = 0;
        }

        // Read from the images while the caller still holds them (on a live disk: under the lock, before a switch).
        Result ??=
        [
            .. chain.Images.Select((image, i) => new DiskReplies.ImageSummary(
                Path.GetFullPath(chain.DisplayNames[i]), image.VirtualSize, image.ClusterSize, _allocated[i], image.Header.BackingFileName)),
        ];
        return true;
    }

    /// <summary>The summary, once <see cref="Step"/> has returned true.</summary>
    public IReadOnlyList<DiskReplies.ImageSummary>? Result { get; private set; }
}
