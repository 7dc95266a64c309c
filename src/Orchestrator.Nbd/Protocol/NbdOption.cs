namespace Orchestrator.Nbd.Protocol;

/// <summary>Option requests of the handshake phase (NBD_OPT_*), with the numbers of doc/proto.md.</summary>
internal enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
    ExtendedHeaders = 11,
}
