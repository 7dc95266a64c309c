namespace Orchestrator.Qcow2;

/// <summary>The stable category of a <see cref="Qcow2Exception"/>; scripts and the API map it to error codes.</summary>
public enum Qcow2ErrorKind
{
    /// <summary>The file is not a qcow2 image or its header breaks the specification.</summary>
    InvalidFormat,

    /// <summary>A valid qcow2 feature that this implementation refuses (encryption, external data file, ...).</summary>
    UnsupportedFeature,

    /// <summary>Metadata contradicts itself (bad table offsets, refcounts below references, the corrupt bit).</summary>
    Corrupt,

    /// <summary>A request or a table entry points outside the valid area of the image or file.</summary>
    OutOfBounds,

    /// <summary>The operating system failed an I/O call.</summary>
    Io,

    /// <summary>The backing chain cannot be opened: a missing file, a loop, a format mismatch, too deep.</summary>
    BackingChain,

    /// <summary>The caller passed an argument that cannot be honoured (size, cluster size, path).</summary>
    InvalidArgument,

    /// <summary>No space left on the device (ENOSPC); the operation may be retried after space is freed.</summary>
    NoSpace,

    /// <summary>The caller's confinement policy refuses the file (for the engine: it lies outside the storage roots).</summary>
    Confined,

    /// <summary>Another process holds the image with QEMU-compatible locks that this open conflicts with.</summary>
    Locked,

    /// <summary>The file is not a regular file (a directory, a FIFO, a device, a socket) and cannot be an image.</summary>
    NotRegularFile,
}
