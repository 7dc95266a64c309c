using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2;

/// <summary>Options for a new image; out-of-range values throw at construction with the option's name.</summary>
public sealed record ImageCreateOptions
{
    private readonly long _size;
    private readonly int _clusterSize = 65536;
    private readonly string _compat = "1.1";

    public required long Size
    {
        get => _size;
        init
        {
            if (value < 0 || value % 512 != 0)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"image size {value} must be a non-negative multiple of 512 bytes");
            }

            _size = value;
        }
    }

    public int ClusterSize
    {
        get => _clusterSize;
        init
        {
            if (value < 512 || value > 2 * 1024 * 1024 || (value & (value - 1)) != 0)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument,
                    $"cluster_size {value} must be a power of two between 512 and 2097152 (2 MiB)");
            }

            _clusterSize = value;
        }
    }

    /// <summary>"1.1" (version 3, the default) or "0.10" (version 2), as qemu-img's compat option.</summary>
    public string Compat
    {
        get => _compat;
        init
        {
            if (value is not ("1.1" or "0.10" or "v3" or "v2"))
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"compat '{value}' must be 1.1 (v3) or 0.10 (v2)");
            }

            _compat = value is "v3" ? "1.1" : value is "v2" ? "0.10" : value;
        }
    }

    /// <summary>The backing file name exactly as it is stored in the header (relative names resolve from the image's folder).</summary>
    public string? BackingFile { get; init; }

    public string? BackingFormat { get; init; }

    public CacheMode Cache { get; init; } = CacheMode.PageCache;

    /// <summary>Asked about the new file's name before it is created and about the created file after.</summary>
    public IO.IFileConfinement? Confinement { get; init; }

    /// <summary>Hold QEMU-compatible image locks on the image returned (see <see cref="ImageOpenOptions.Locking"/>).</summary>
    public bool Locking { get; init; } = true;
}
