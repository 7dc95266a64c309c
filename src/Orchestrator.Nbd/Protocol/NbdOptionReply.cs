namespace Orchestrator.Nbd.Protocol;

/// <summary>Option reply types (NBD_REP_*); errors have bit 31 set and may carry a human-readable message.</summary>
internal enum NbdOptionReply : uint
{
    /// <summary>NBD_REP_ACK: the option is done (and, for NBD_OPT_GO, transmission starts).</summary>
    Ack = 1,

    /// <summary>NBD_REP_SERVER: one export of NBD_OPT_LIST (32-bit name length, then the name).</summary>
    Server = 2,

    /// <summary>NBD_REP_INFO: one piece of information of NBD_OPT_INFO / NBD_OPT_GO (16-bit type, then its payload).</summary>
    Info = 3,

    /// <summary>NBD_REP_META_CONTEXT: one selected or listed metadata context (32-bit id, then its name).</summary>
    MetaContext = 4,

    /// <summary>NBD_REP_ERR_UNSUP: the option is unknown to this server.</summary>
    ErrorUnsupported = (1u << 31) + 1,

    /// <summary>NBD_REP_ERR_INVALID: the option's data is malformed.</summary>
    ErrorInvalid = (1u << 31) + 3,

    /// <summary>NBD_REP_ERR_UNKNOWN: the requested export is not available.</summary>
    ErrorUnknown = (1u << 31) + 6,

    /// <summary>NBD_REP_ERR_TOO_BIG: the request is too large to process.</summary>
    ErrorTooBig = (1u << 31) + 9,
}
