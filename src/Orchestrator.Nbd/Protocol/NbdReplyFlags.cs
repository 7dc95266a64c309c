namespace Orchestrator.Nbd.Protocol;

/// <summary>Structured reply chunk flags (NBD_REPLY_FLAG_*).</summary>
[Flags]
internal enum NbdReplyFlags : ushort
{
    None = 0,

    /// <summary>NBD_REPLY_FLAG_DONE: the last chunk of the reply to this request.</summary>
    Done = 1 << 0,
}
