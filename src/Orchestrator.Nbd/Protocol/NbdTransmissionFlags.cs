namespace Orchestrator.Nbd.Protocol;

/// <summary>The 16-bit transmission flags an export advertises (NBD_FLAG_*); only the ones this server honours.</summary>
[Flags]
internal enum NbdTransmissionFlags : ushort
{
    /// <summary>NBD_FLAG_HAS_FLAGS: MUST always be set.</summary>
    HasFlags = 1 << 0,

    /// <summary>NBD_FLAG_SEND_FLUSH: NBD_CMD_FLUSH is supported.</summary>
    SendFlush = 1 << 2,

    /// <summary>NBD_FLAG_SEND_FUA: NBD_CMD_FLAG_FUA is honoured on writes.</summary>
    SendFua = 1 << 3,

    /// <summary>NBD_FLAG_SEND_WRITE_ZEROES: NBD_CMD_WRITE_ZEROES is supported.</summary>
    SendWriteZeroes = 1 << 6,

    /// <summary>What every export of this server advertises. No TRIM: the guest path has no discard that frees clusters.</summary>
    Advertised = HasFlags | SendFlush | SendFua | SendWriteZeroes,
}
