namespace Orchestrator.Nbd.Protocol;

/// <summary>The magic numbers of doc/proto.md, sent in network byte order.</summary>
internal static class NbdMagic
{
    /// <summary>"NBDMAGIC": the first 8 bytes the server sends.</summary>
    public const ulong InitPassword = 0x4e42444d41474943;

    /// <summary>"IHAVEOPT": the newstyle marker after NBDMAGIC, and the start of every option request.</summary>
    public const ulong OptionRequest = 0x49484156454f5054;

    /// <summary>The start of every option reply.</summary>
    public const ulong OptionReply = 0x0003e889045565a9;

    /// <summary>NBD_REQUEST_MAGIC: the start of every transmission request.</summary>
    public const uint Request = 0x25609513;

    /// <summary>NBD_SIMPLE_REPLY_MAGIC: the start of every simple reply.</summary>
    public const uint SimpleReply = 0x67446698;

    /// <summary>NBD_STRUCTURED_REPLY_MAGIC: the start of every structured reply chunk.</summary>
    public const uint StructuredReply = 0x668e33ef;
}
