using Orchestrator.Qcow2.Format;
using Orchestrator.Qcow2.IO;
using Orchestrator.Qcow2.Metadata;

namespace Orchestrator.Qcow2;

/// <summary>
/// A live copy in three steps, so the long data write needs no lock: <see cref="Qcow2Image.ReserveCopy"/> and
/// <see cref="Qcow2Image.StageReserved"/> run under the caller's lock (they touch metadata the guest path shares);
/// <see cref="Qcow2Image.WriteReserved"/> writes only clusters nothing references yet, so it runs beside guest requests.
/// </summary>
public sealed class CopyReservation
{
    internal CopyReservation(int[] positions, (long L2Offset, int Index)[] slots, L2Entry[] expected, L2Entry[] entries)
    {
        Positions = positions;
        Slots = slots;
        Expected = expected;
        Entries = entries;
    }

    /// <summary>For each kept cluster, its index in the caller's data buffer (clusters the guest took are left out).</summary>
    internal int[] Positions { get; }

    internal (long L2Offset, int Index)[] Slots { get; }

    /// <summary>The (unallocated) entry each slot held when reserved: the copy applies only if it still does at commit.</summary>
    internal L2Entry[] Expected { get; }

    internal L2Entry[] Entries { get; }

    /// <summary>Clusters the copy will write (the ones the guest wrote since the caller looked are not among them).</summary>
    public int Count => Positions.Length;
}

public sealed partial class Qcow2Image
{
    private ImageFile? _copyFile;
    private bool _copyFileUnavailable;

    /// <summary>
    /// Where <see cref="WriteReserved"/> writes: on an image used through the page cache, a second handle on the same
    /// file with O_DIRECT. A copy's data is written once and not read again soon; through the page cache it would
    /// push the guest's hot pages out, and the flush before the commit would still wait for all of it to reach the
    /// disk. Direct writes start at once and run beside the copy's reads. Safe beside buffered guest I/O because
    /// nothing references the reserved clusters until they are staged, and a cluster holds whole pages (the kernel
    /// drops cached pages of a range it writes directly; a page shared with other data could go stale). Otherwise,
    /// or where the file system refuses O_DIRECT, the image's own handle.
    /// </summary>
    private ImageFile CopyWriteFile
    {
        get
        {
            if (_copyFile is not null || _copyFileUnavailable)
            {
                return _copyFile ?? _file;
            }

            if (_file.Cache != CacheMode.PageCache || ClusterSize < Environment.SystemPageSize)
            {
                _copyFileUnavailable = true;
                return _file;
            }

            try
            {
                _copyFile = _file.Reopen(CacheMode.Direct);
            }
            catch (Qcow2Exception)
            {
                _copyFileUnavailable = true;
            }

            return _copyFile ?? _file;
        }
    }

    private ImageFile StopDirectCopyWrites()
    {
        _copyFile?.Dispose();
        _copyFile = null;
        _copyFileUnavailable = true;
        return _file;
    }

    /// <summary>
    /// Under the caller's lock: allocates host clusters for the clusters of <paramref name="runs"/> that are still
    /// unallocated here (a guest write since the caller gathered them wins, and that cluster is left out); their
    /// refcounts change in memory and reach the disk at the commit. <paramref name="zero"/> marks all-zero clusters (zero flags on version 3, no data).
    /// </summary>
    public CopyReservation ReserveCopy(IReadOnlyList<ClusterRun> runs, ReadOnlySpan<bool> zero)
    {
        RequireWritable();
        var clusters = ExpandRuns(runs);
        if (zero.Length < clusters.Length)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"zero map too small for {clusters.Length} clusters", Path, operation: "writing");
        }

        var kept = new List<int>(clusters.Length);
        for (var i = 0; i < clusters.Length; i++)
        {
            if (GetExtent(clusters[i] << Header.ClusterBits, ClusterSize).Kind == ClusterKind.Unallocated)
            {
                kept.Add(i);
            }
        }

        var keptClusters = new long[kept.Count];
        var keptZero = new bool[kept.Count];
        for (var k = 0; k < kept.Count; k++)
        {
            keptClusters[k] = clusters[kept[k]];
            keptZero[k] = zero[kept[k]];
        }

        (L2Table Table, int Index)[] tables;
        Target[] plan;
        try
        {
            tables = EnsureL2Tables(keptClusters, _stagedL1);
            plan = PlanTargets(keptClusters, keptZero, tables, _stagedFrees, unmap: false);
        }
        catch
        {
            _keepDirty = true;
            throw;
        }

        _openReservations++;
        return new CopyReservation(
            [.. kept],
            tables.Select(t => (t.Table.HostOffset, t.Index)).ToArray(),
            tables.Select(t => t.Table[t.Index]).ToArray(),
            plan.Select(p => p.Entry).ToArray());
    }

    /// <summary>
    /// No lock needed: writes the reserved clusters' data from <paramref name="data"/> (all gathered clusters back to
    /// back, as passed to <see cref="ReserveCopy"/>). Nothing references these clusters until <see cref="StageReserved"/>.
    /// </summary>
    /// <param name="maxWriteBytes">The largest single write (a multiple of the cluster size, or it is rounded up to one).</param>
    /// <param name="beforeWrite">Called before each write (a live copy waits there for a gap between guest requests).</param>
    public void WriteReserved(CopyReservation reservation, ReadOnlySpan<byte> data, int maxWriteBytes = int.MaxValue, Action? beforeWrite = null)
    {
        var file = CopyWriteFile;
        var maxClusters = Math.Max(1, maxWriteBytes / ClusterSize);
        var cs = ClusterSize;
        var positions = reservation.Positions;
        var entries = reservation.Entries;
        var i = 0;
        while (i < positions.Length)
        {
            var host = entries[i].Kind(Header.Version) == ClusterKind.Data ? entries[i].HostOffset : 0;
            if (host == 0)
            {
                i++;
                continue;
            }

            // One write per run that is contiguous both in the buffer and on the host, up to the size limit.
            var start = i;
            while (i + 1 < positions.Length && i + 1 - start < maxClusters && positions[i + 1] == positions[i] + 1
                   && entries[i + 1].Kind(Header.Version) == ClusterKind.Data && entries[i + 1].HostOffset == entries[i].HostOffset + cs)
            {
                i++;
            }

            var length = i - start + 1;
            var slice = data.Slice(positions[start] * cs, length * cs);
            beforeWrite?.Invoke();
            try
            {
                file.Write(slice, host);
            }
            catch (Qcow2Exception e) when (!ReferenceEquals(file, _file) && ImageFile.IsInvalidArgument(e))
            {
                // Some file systems take O_DIRECT at open and refuse it per request: the copy goes on through the page
                // cache. Any other error is the disk's, and is reported as it is.
                file = StopDirectCopyWrites();
                file.Write(slice, host);
            }

            file.StartWriteback(host, (long)length * cs);
            i++;
        }
    }

    /// <summary>
    /// Under the caller's lock: the reserved clusters join the staged copies; the next <see cref="CommitStaged"/>
    /// points their L2 entries at them unless the guest wrote a slot meanwhile (then the copy's cluster is freed).
    /// </summary>
    public void StageReserved(CopyReservation reservation)
    {
        _openReservations--;
        for (var i = 0; i < reservation.Count; i++)
        {
            _staged.Add((reservation.Slots[i].L2Offset, reservation.Slots[i].Index, reservation.Expected[i], reservation.Entries[i]));
        }
    }

    /// <summary>Under the caller's lock, after a failed data write: the reserved clusters are freed at the next commit.</summary>
    public void AbandonReserved(CopyReservation reservation)
    {
        _openReservations--;
        foreach (var entry in reservation.Entries)
        {
            if (entry.Kind(Header.Version) == ClusterKind.Data)
            {
                _stagedFrees.Add(entry.HostOffset >> Header.ClusterBits);
            }
        }
    }
}
