namespace Orchestrator.Nbd.Protocol;

/// <summary>Command flags of a request (NBD_CMD_FLAG_*).</summary>
[Flags]
internal enum NbdCommandFlags : ushort
{
    None = 0,

    /// <summary>NBD_CMD_FLAG_FUA: the write is durable before the reply (here: a flush after it).</summary>
    Fua = 1 << 0,

    /// <summary>NBD_CMD_FLAG_NO_HOLE: WRITE_ZEROES must not punch a hole; ours never does, so it is accepted as is.</summary>
    NoHole = 1 << 1,
}
