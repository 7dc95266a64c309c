using System.Buffers.Binary;
using System.IO.Compression;
using Orchestrator.Qcow2.Check;
using Orchestrator.Qcow2.Format;
using Orchestrator.Qcow2.IO;
using Orchestrator.Qcow2.Metadata;

namespace Orchestrator.Qcow2;

/// <summary>One qcow2 image file: header, L1/L2 lookups, reads, and (when writable) allocating writes.</summary>
public sealed partial class Qcow2Image : IDisposable
{
    private readonly ImageFile _file;
    private readonly L2TableCache _l2Cache;
    private readonly ulong[] _l1;
    private readonly int _l2Entries;
    private RefcountTable? _refcounts;
    private bool _checkOnWritableOpen;
    private bool _repairLeaksOnOpen;
    private byte[]? _compressedScratch;

    private Qcow2Image(ImageFile file, Qcow2Header header, ulong[] l1)
    {
        _file = file;
        Header = header;
        _l1 = l1;
        _l2Entries = header.ClusterSize / 8;
        _l2Cache = new L2TableCache(file, header.ClusterSize);
    }

    public string Path => _file.Path;

    public Qcow2Header Header { get; private set; }

    public long VirtualSize => Header.Size;

    public int ClusterSize => Header.ClusterSize;

    public bool Writable => _file.Writable;

    public CacheMode Cache => _file.Cache;

    internal ImageFile File => _file;

    internal IReadOnlyList<ulong> L1 => _l1;

    internal int L2Entries => _l2Entries;

    /// <summary>Opens and validates one image (not its backing chain; see <see cref="Chain.ImageChain"/>).</summary>
    public static Qcow2Image Open(string path, ImageOpenOptions options)
    {
        var file = ImageFile.Open(path, options.Writable, options.Cache, options.Confinement, options.Locking);
        try
        {
            var header = ReadHeader(file);
            var l1 = ReadL1(file, header);
            var image = new Qcow2Image(file, header, l1);
            if (options.Writable)
            {
                image.RefuseUnwritable();
                image._checkOnWritableOpen = options.CheckOnWritableOpen;
                image._repairLeaksOnOpen = options.RepairLeaksOnOpen;
                if (!options.DeferWritePreparation)
                {
                    image.CompleteWritableOpen();
                }
            }

            return image;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Qcow2Header ReadHeader(ImageFile file)
    {
        var length = file.Length;
        var probe = new byte[(int)Math.Min(length, Qcow2Constants.V3WrittenHeaderLength)];
        file.Read(probe, 0);
        if (probe.Length < Qcow2Constants.V2HeaderLength || BinaryPrimitives.ReadUInt32BigEndian(probe) != Qcow2Constants.Magic)
        {
            return Qcow2Header.Parse(probe, length, file.Path);
        }

        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(probe.AsSpan(20));
        var clusterSize = clusterBits is >= Qcow2Constants.MinClusterBits and <= Qcow2Constants.MaxClusterBits ? 1 << (int)clusterBits : probe.Length;
        var cluster0 = new byte[(int)Math.Min(length, clusterSize)];
        file.Read(cluster0, 0);
        return Qcow2Header.Parse(cluster0, length, file.Path);
    }

    private static ulong[] ReadL1(ImageFile file, Qcow2Header header)
    {
        var raw = new byte[header.L1Size * 8];
        file.Read(raw, header.L1TableOffset);
        var l1 = new ulong[header.L1Size];
        for (var i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return l1;
    }

    /// <summary>
    /// How this image maps the guest bytes starting at <paramref name="offset"/>: one run of the same kind
    /// (and, for data, contiguous host offsets), at most <paramref name="maxLength"/> bytes, never past the end of an L2 table.
    /// </summary>
    public Extent GetExtent(long offset, long maxLength)
    {
        if (offset < 0 || offset >= VirtualSize)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.OutOfBounds, $"offset {offset} is outside the virtual size {VirtualSize}", Path, offset);
        }

        maxLength = Math.Min(maxLength, VirtualSize - offset);
        var clusterBits = Header.ClusterBits;
        var cluster = offset >> clusterBits;
        var inCluster = offset & (ClusterSize - 1);
        var l1Index = cluster / _l2Entries;
        var l2Index = (int)(cluster % _l2Entries);
        var tableBytesLeft = ((long)(_l2Entries - l2Index) << clusterBits) - inCluster;
        var l2Offset = (long)(_l1[l1Index] & Qcow2Constants.OffsetMask);
        if (l2Offset == 0)
        {
            return new Extent(ClusterKind.Unallocated, 0, Math.Min(maxLength, tableBytesLeft), 0);
        }

        if (l2Offset % ClusterSize != 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"L1 entry {l1Index} points at unaligned L2 table offset {l2Offset}", Path);
        }

        var table = _l2Cache.Get(l2Offset);
        var first = table[l2Index];
        var kind = first.Kind(Header.Version);
        var host = first.HostOffset;
        if (kind is ClusterKind.Data or ClusterKind.ZeroAllocated && host % ClusterSize != 0)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"L2 entry for guest offset {offset} has unaligned cluster offset {host}", Path);
        }

        var length = (long)ClusterSize - inCluster;
        if (kind != ClusterKind.Compressed)
        {
            var contiguousHost = kind is ClusterKind.Data or ClusterKind.ZeroAllocated;
            for (var i = l2Index + 1; i < _l2Entries && length < maxLength; i++)
            {
                var next = table[i];
                if (next.Kind(Header.Version) != kind || (contiguousHost && next.HostOffset != host + ((long)(i - l2Index) << clusterBits)))
                {
                    break;
                }

                length += ClusterSize;
            }
        }

        var hostOffset = kind is ClusterKind.Data or ClusterKind.ZeroAllocated ? host + inCluster : 0;
        return new Extent(kind, hostOffset, Math.Min(length, maxLength), first.Raw);
    }

    /// <summary>Reads raw bytes of a data extent from the file.</summary>
    internal void ReadHost(Span<byte> buffer, long hostOffset) => _file.Read(buffer, hostOffset);

    /// <summary>Decompresses the whole guest cluster described by a compressed L2 entry.</summary>
    internal void ReadCompressedCluster(ulong rawEntry, Span<byte> cluster)
    {
        var (offset, length, alignedStart, sectorBytes) = new L2Entry(rawEntry).CompressedLocation(Header.ClusterBits);
        var raw = _compressedScratch ??= new byte[2 * ClusterSize + 1024];
        var window = raw.AsSpan(0, sectorBytes);
        _file.Read(window, alignedStart);
        try
        {
            using var input = new MemoryStream(raw, (int)(offset - alignedStart), length, writable: false);
            using var inflater = new DeflateStream(input, CompressionMode.Decompress);
            var done = 0;
            while (done < cluster.Length)
            {
                var n = inflater.Read(cluster[done..]);
                if (n == 0)
                {
                    break;
                }

                done += n;
            }

            if (done != cluster.Length)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.Corrupt,
                    $"compressed cluster at host offset {offset} decompresses to {done} bytes, not {cluster.Length}", Path);
            }
        }
        catch (InvalidDataException e)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Corrupt, $"compressed cluster at host offset {offset} is not valid deflate data", Path, inner: e);
        }
    }

    internal RefcountTable Refcounts => _refcounts ??= CreateRefcountTable();

    private RefcountTable CreateRefcountTable()
    {
        var table = new RefcountTable(_file, Header, CommitRefcountTable, MarkDirty);
        table.Protect(0, ClusterSize);
        table.Protect(Header.L1TableOffset, (long)Header.L1Size * 8);
        return table;
    }

    /// <summary>Refuses, without writing anything, every image we must not write.</summary>
    private void RefuseUnwritable()
    {
        Refuse(Header.IsCorrupt, Qcow2ErrorKind.Corrupt, "the image is marked corrupt; repair it with 'qemu-img check -r all' before writing");
        Refuse(Header.SnapshotCount > 0, Qcow2ErrorKind.UnsupportedFeature,
            $"writing to an image with {Header.SnapshotCount} internal snapshot(s) is not supported (they are left intact; open read-only)");
        Refuse(Header.HasBitmaps, Qcow2ErrorKind.UnsupportedFeature, "writing to an image with persistent dirty bitmaps is not supported");
        try
        {
            // Every header update rewrites the whole header cluster; find out now whether that is possible.
            _ = Header.Serialize();
        }
        catch (Qcow2Exception e)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.UnsupportedFeature, $"the header cannot be rewritten: {e.Detail}", Path, operation: "opening for writing");
        }

    }

    /// <summary>
    /// The writing half of a writable open: check the metadata when the image says it needs it (the dirty bit: a
    /// writer stopped without a clean close) or cannot say (version 2), or when the caller asks: refuse a corrupt image,
    /// give back clusters a crash leaked. Then clear unknown autoclear bits, as the specification requires of a writer.
    /// A clean version 3 image is not checked: open reads the header, the L1 table and the refcount table, no refcount
    /// block and no L2 table (as QEMU's open).
    /// </summary>
    internal void CompleteWritableOpen()
    {
        var dirty = Header.IsDirty;
        if (_repairLeaksOnOpen || dirty || (_checkOnWritableOpen && Header.Version < 3))
        {
            // One pass: leaks are repaired only when nothing is corrupt, including what the repair itself would make so.
            var result = ImageChecker.Check(this, repairLeaks: true);
            Refuse(result.Corruptions > 0 && dirty, Qcow2ErrorKind.Corrupt,
                $"the image was not closed cleanly (dirty bit; lazy refcounts are repaired this way) and its check found {result.Corruptions} "
                + $"corruption(s): {result.FirstCorruption}; run 'qemu-img check -r all' before writing");
            Refuse(result.Corruptions > 0, Qcow2ErrorKind.Corrupt,
                $"the image has {result.Corruptions} corruption(s) and will not be written: {result.FirstCorruption}");
            if (dirty)
            {
                // Every reference is counted now: the bit has done its job.
                MarkClean();
            }
        }
        else
        {
            Refcounts.ValidateTable(_file.Length);
        }

        if (Header.AutoclearFeatures != 0)
        {
            // "Any unknown autoclear bits must be cleared when the image is opened for writing."
            UpdateHeader(Header with { AutoclearFeatures = 0 });
        }
    }

    private void Refuse(bool condition, Qcow2ErrorKind kind, string message)
    {
        if (condition)
        {
            throw new Qcow2Exception(kind, message, Path, operation: "opening for writing");
        }
    }

    /// <summary>Commits deferred metadata (a clean close leaves nothing pending), then closes the file.</summary>
    public void Dispose()
    {
        try
        {
            if (Writable && (_deferredClusters > 0 || HasUncommitted))
            {
                CommitStaged();
                _file.Flush();
            }

            if (MayMarkClean)
            {
                MarkClean();
            }
        }
        catch (Qcow2Exception)
        {
            // Closing must not throw; the image is as consistent as after a crash (at worst leaked clusters).
        }
        finally
        {
            _copyFile?.Dispose();
            _file.Dispose();
        }
    }
}
