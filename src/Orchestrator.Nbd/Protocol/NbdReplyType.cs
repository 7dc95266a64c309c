namespace Orchestrator.Nbd.Protocol;

/// <summary>Structured reply chunk types (NBD_REPLY_TYPE_*); errors have bit 15 set.</summary>
internal enum NbdReplyType : ushort
{
    /// <summary>NBD_REPLY_TYPE_NONE: no payload; the request succeeded (with NBD_REPLY_FLAG_DONE).</summary>
    None = 0,

    /// <summary>NBD_REPLY_TYPE_OFFSET_DATA: a 64-bit offset, then the data read there.</summary>
    OffsetData = 1,

    /// <summary>NBD_REPLY_TYPE_BLOCK_STATUS: a 32-bit context id, then (32-bit length, 32-bit flags) descriptors.</summary>
    BlockStatus = 5,

    /// <summary>NBD_REPLY_TYPE_ERROR: a 32-bit error, a 16-bit message length, the message.</summary>
    Error = (1 << 15) + 1,
}
