using Orchestrator.Qcow2.Format;

namespace Orchestrator.Qcow2.Chain;

/// <summary>
/// An image with its whole backing chain, top first. Reads fall through unallocated clusters to the layer
/// below (zeros past the end of a shorter backing file); writes go to the top with copy-on-write from below.
/// </summary>
public sealed partial class ImageChain : IDisposable
{
    private readonly List<Qcow2Image> _images;
    private readonly List<string> _displayNames;
    private (int Layer, ulong Entry, byte[] Data)? _lastDecompressed;

    private ImageChain(List<Qcow2Image> images, List<string> displayNames)
    {
        _images = images;
        _displayNames = displayNames;
    }

    /// <summary>The images, top (index 0, the active image) to bottom.</summary>
    public IReadOnlyList<Qcow2Image> Images => _images;

    /// <summary>Each image's path as QEMU would print it (the top as given, backing files as full-backing-filename).</summary>
    public IReadOnlyList<string> DisplayNames => _displayNames;

    public Qcow2Image Top => _images[0];

    public long VirtualSize => Top.VirtualSize;

    public static ImageChain Open(string topPath, ChainOpenOptions options)
    {
        var images = new List<Qcow2Image>();
        var names = new List<string>();
        var seen = new Dictionary<string, string>();
        try
        {
            var current = Qcow2Image.Open(topPath, new ImageOpenOptions
            {
                Writable = options.WritableTop,
                Cache = options.TopCache,
                DeferWritePreparation = true,
                Confinement = options.Confinement,
                Locking = options.Locking,
            });
            images.Add(current);
            names.Add(topPath);
            seen[BackingPath.Canonical(topPath)] = topPath;
            while (current.Header.BackingFileName is not null)
            {
                var referring = names[^1];
                var path = BackingFileOf(current, referring, options.Confinement);

                var canonical = BackingPath.Canonical(path);
                if (seen.TryGetValue(canonical, out var earlier))
                {
                    throw new Qcow2Exception(Qcow2ErrorKind.BackingChain,
                        $"backing chain loop: '{path}' is the same file as '{earlier}' higher up the chain", referring);
                }

                if (images.Count >= options.MaxDepth)
                {
                    throw new Qcow2Exception(Qcow2ErrorKind.BackingChain,
                        $"backing chain is deeper than {options.MaxDepth} images", topPath);
                }

                seen[canonical] = path;
                current = OpenBacking(path, referring, options);
                images.Add(current);
                names.Add(path);
            }

            if (options.WritableTop)
            {
                images[0].CompleteWritableOpen();
            }

            return new ImageChain(images, names);
        }
        catch
        {
            images.ForEach(i => i.Dispose());
            throw;
        }
    }

    /// <summary>The path of <paramref name="image"/>'s backing file, resolved as QEMU does; refused if missing or not qcow2.</summary>
    private static string BackingFileOf(Qcow2Image image, string imageName, IO.IFileConfinement? confinement)
    {
        var backingName = image.Header.BackingFileName!;
        var path = BackingPath.Combine(imageName, backingName);
        RequireSupportedFormat(image.Header.BackingFormat, path, imageName);

        // Before the existence check below: whether a refused file exists is none of the caller's business.
        if (confinement?.Refusal(IO.PhysicalPath.Resolve(path)) is { } refusal)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Confined,
                $"backing file '{backingName}' of '{imageName}' is refused: {refusal}", imageName);
        }

        if (!File.Exists(path))
        {
            throw new Qcow2Exception(Qcow2ErrorKind.BackingChain,
                $"backing file '{backingName}' of '{imageName}' does not exist (looked for '{path}')", imageName);
        }

        return path;
    }

    private static void RequireSupportedFormat(string? format, string path, string referring)
    {
        if (format is not null && format != "qcow2")
        {
            throw new Qcow2Exception(Qcow2ErrorKind.UnsupportedFeature,
                $"backing file '{path}' has format '{format}'; only qcow2 backing files are supported", referring);
        }
    }

    private static Qcow2Image OpenBacking(string path, string referring, ChainOpenOptions options)
    {
        try
        {
            return Qcow2Image.Open(path, ImageOpenOptions.ReadOnly(options.BackingCache) with
            {
                Confinement = options.Confinement,
                Locking = options.Locking,
            });
        }
        catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.InvalidFormat && e.Detail.Contains("magic", StringComparison.Ordinal))
        {
            throw new Qcow2Exception(Qcow2ErrorKind.BackingChain,
                $"backing file '{path}' is not a qcow2 image (format mismatch; raw backing files are not supported)", referring, inner: e);
        }
    }

    /// <summary>
    /// A chain of this chain's top over its backing images opened again, from the backing file the top's header names
    /// now (after a stream committed a new one). The top is kept as it is, with its caches and pending writes: no
    /// writable reopen and no refcount check. Reads only the top's header, so it may run while the top serves
    /// requests. The caller switches to the result, then calls <see cref="DisposeBelowTop"/> on this chain.
    /// </summary>
    public ImageChain ReopenedBelowTop(ChainOpenOptions options)
    {
        var top = Top;
        var topName = _displayNames[0];
        if (top.Header.BackingFileName is null)
        {
            return new ImageChain([top], [topName]);
        }

        var path = BackingFileOf(top, topName, options.Confinement);
        var below = Open(path, options with { WritableTop = false, TopCache = options.BackingCache, MaxDepth = options.MaxDepth - 1 });
        if (below.IndexOf(topName) >= 0)
        {
            below.Dispose();
            throw new Qcow2Exception(Qcow2ErrorKind.BackingChain, $"backing chain loop: '{topName}' is below itself", topName);
        }

        return new ImageChain([top, .. below._images], [topName, .. below._displayNames]);
    }

    /// <summary>Closes every image but the top (which a chain from <see cref="ReopenedBelowTop"/> goes on using).</summary>
    public void DisposeBelowTop()
    {
        foreach (var image in _images.Skip(1))
        {
            image.Dispose();
        }
    }

    /// <summary>Index of an image in the chain given by path (any spelling of the same file), or -1.</summary>
    public int IndexOf(string path)
    {
        var canonical = BackingPath.Canonical(path);
        for (var i = 0; i < _images.Count; i++)
        {
            if (BackingPath.Canonical(_displayNames[i]) == canonical)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Reads guest data as the top image presents it.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset + buffer.Length > VirtualSize)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.OutOfBounds,
                $"read of {buffer.Length} bytes at {offset} is outside the virtual size {VirtualSize}", Top.Path, offset, "reading");
        }

        ReadFrom(0, offset, buffer);
    }

    /// <summary>Reads guest data as layer <paramref name="layer"/> presents it (layer 1 = the top's backing file).</summary>
    public void ReadFrom(int layer, long offset, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (layer >= _images.Count)
            {
                buffer.Clear();
                return;
            }

            var image = _images[layer];
            if (offset >= image.VirtualSize)
            {
                // Past the end of a shorter backing file the guest reads zeros.
                buffer.Clear();
                return;
            }

            var extent = image.GetExtent(offset, Math.Min(buffer.Length, image.VirtualSize - offset));
            var n = (int)extent.Length;
            var part = buffer[..n];
            switch (extent.Kind)
            {
                case ClusterKind.Data:
                    image.ReadHost(part, extent.HostOffset);
                    break;
                case ClusterKind.Zero or ClusterKind.ZeroAllocated:
                    part.Clear();
                    break;
                case ClusterKind.Compressed:
                    var cluster = Decompressed(layer, extent.RawEntry);
                    cluster.AsSpan((int)(offset & (image.ClusterSize - 1)), n).CopyTo(part);
                    break;
                default:
                    ReadFrom(layer + 1, offset, part);
                    break;
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>
    /// Like <see cref="ReadFrom"/>, but data clusters are not read: they are appended to <paramref name="reads"/> (merged
    /// when contiguous) so the caller can issue them in parallel. Zeros and compressed clusters are filled in at once.
    /// Metadata is resolved here, on one thread; the planned reads touch only file descriptors.
    /// </summary>
    public void PlanRead(int layer, long offset, Span<byte> buffer, int bufferOffset, List<RawRead> reads)
    {
        var position = 0;
        while (position < buffer.Length)
        {
            var part = buffer[position..];
            if (layer >= _images.Count || offset >= _images[layer].VirtualSize)
            {
                part.Clear();
                return;
            }

            var image = _images[layer];
            var extent = image.GetExtent(offset, Math.Min(part.Length, image.VirtualSize - offset));
            var n = (int)extent.Length;
            switch (extent.Kind)
            {
                case ClusterKind.Data:
                    var read = new RawRead(image, extent.HostOffset, n, bufferOffset + position);
                    if (reads.Count > 0 && reads[^1].IsFollowedBy(read))
                    {
                        reads[^1] = reads[^1] with { Length = reads[^1].Length + n };
                    }
                    else
                    {
                        reads.Add(read);
                    }

                    break;
                case ClusterKind.Zero or ClusterKind.ZeroAllocated:
                    part[..n].Clear();
                    break;
                case ClusterKind.Compressed:
                    Decompressed(layer, extent.RawEntry).AsSpan((int)(offset & (image.ClusterSize - 1)), n).CopyTo(part);
                    break;
                default:
                    PlanRead(layer + 1, offset, part[..n], bufferOffset + position, reads);
                    break;
            }

            offset += n;
            position += n;
        }
    }

    private byte[] Decompressed(int layer, ulong entry)
    {
        if (_lastDecompressed is { } last && last.Layer == layer && last.Entry == entry)
        {
            return last.Data;
        }

        var data = new byte[_images[layer].ClusterSize];
        _images[layer].ReadCompressedCluster(entry, data);
        _lastDecompressed = (layer, entry, data);
        return data;
    }

    /// <summary>
    /// The layer that decides guest bytes at <paramref name="offset"/> (QEMU's block-status "depth") and for how many bytes;
    /// descends through unallocated layers, stopping at the bottom or where the next layer is shorter.
    /// </summary>
    public (int Depth, Extent Extent) Resolve(long offset, long maxLength)
    {
        var layer = 0;
        maxLength = Math.Min(maxLength, VirtualSize - offset);
        while (true)
        {
            var image = _images[layer];
            var extent = image.GetExtent(offset, maxLength);
            if (extent.IsAllocated || layer == _images.Count - 1)
            {
                return (layer, extent);
            }

            var below = _images[layer + 1];
            if (offset >= below.VirtualSize)
            {
                return (layer, extent);
            }

            maxLength = Math.Min(extent.Length, below.VirtualSize - offset);
            layer++;
        }
    }

    public void Dispose()
    {
        foreach (var image in _images)
        {
            image.Dispose();
        }
    }
}
