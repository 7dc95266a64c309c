namespace Orchestrator.Nbd.Protocol;

/// <summary>The 16-bit transmission flags an export advertises (NBD_FLAG_*); only the ones this server honours.</summary>
[Flags]
internal enum NbdTransmissionFlags : ushort
{
    /// <summary>NBD_FLAG_HAS_FLAGS: MUST always be set.</summary>
    HasFlags = 1 << 0,

    /// <summary>NBD_FLAG_READ_ONLY: the export is read-only; writes, trims and zeroes fail with EPERM.</summary>
    ReadOnly = 1 << 1,

    /// <summary>NBD_FLAG_SEND_FLUSH: NBD_CMD_FLUSH is supported.</summary>
    SendFlush = 1 << 2,

    /// <summary>NBD_FLAG_SEND_FUA: NBD_CMD_FLAG_FUA is honoured on writes.</summary>
    SendFua = 1 << 3,

    /// <summary>NBD_FLAG_SEND_TRIM: NBD_CMD_TRIM is supported.</summary>
    SendTrim = 1 << 5,

    /// <summary>NBD_FLAG_SEND_WRITE_ZEROES: NBD_CMD_WRITE_ZEROES is supported.</summary>
    SendWriteZeroes = 1 << 6,

    /// <summary>
    /// NBD_FLAG_CAN_MULTI_CONN: a flush on any connection makes every write completed on every connection durable.
    /// True here: all connections to an export share one disk, and a flush commits and syncs that disk as a whole.
    /// </summary>
    CanMultiConn = 1 << 8,

    /// <summary>NBD_FLAG_SEND_FAST_ZERO: NBD_CMD_FLAG_FAST_ZERO is honoured (ENOTSUP when zeroing would not be fast).</summary>
    SendFastZero = 1 << 11,

    /// <summary>What a writable export advertises.</summary>
    Writable = HasFlags | SendFlush | SendFua | SendTrim | SendWriteZeroes | CanMultiConn | SendFastZero,

    /// <summary>What a read-only export advertises: no write commands.</summary>
    ReadOnlyExport = HasFlags | ReadOnly | SendFlush | CanMultiConn,
}
