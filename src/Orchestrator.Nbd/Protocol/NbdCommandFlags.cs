namespace Orchestrator.Nbd.Protocol;

/// <summary>Command flags of a request (NBD_CMD_FLAG_*).</summary>
[Flags]
internal enum NbdCommandFlags : ushort
{
    None = 0,

    /// <summary>NBD_CMD_FLAG_FUA: the write is durable before the reply (here: a flush after it).</summary>
    Fua = 1 << 0,

    /// <summary>NBD_CMD_FLAG_NO_HOLE: WRITE_ZEROES must not punch a hole; ours keeps clusters allocated anyway.</summary>
    NoHole = 1 << 1,

    /// <summary>NBD_CMD_FLAG_REQ_ONE: BLOCK_STATUS answers with one extent per context.</summary>
    ReqOne = 1 << 3,

    /// <summary>NBD_CMD_FLAG_FAST_ZERO: WRITE_ZEROES fails with ENOTSUP rather than writing zeroes slowly.</summary>
    FastZero = 1 << 4,
}
