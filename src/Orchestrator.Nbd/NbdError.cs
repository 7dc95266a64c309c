namespace Orchestrator.Nbd;

/// <summary>The error values a reply carries (doc/proto.md: the Linux errno numbers, whatever the server's platform).</summary>
public enum NbdError : uint
{
    None = 0,

    /// <summary>EPERM: a write to a read-only export.</summary>
    NotPermitted = 1,

    /// <summary>EIO: the export failed the I/O.</summary>
    Io = 5,

    /// <summary>EINVAL: a request out of range, too large, with unknown flags, or an unknown command.</summary>
    InvalidArgument = 22,

    /// <summary>ENOSPC: no space left for a write.</summary>
    NoSpace = 28,

    /// <summary>ENOTSUP: a WRITE_ZEROES with NBD_CMD_FLAG_FAST_ZERO that could not be fast; nothing was written.</summary>
    NotSupported = 95,

    /// <summary>ESHUTDOWN: the export is going away; the client must disconnect.</summary>
    Shutdown = 108,
}
