namespace Orchestrator.Nbd.Protocol;

/// <summary>Information types of NBD_REP_INFO (NBD_INFO_*).</summary>
internal enum NbdInfoType : ushort
{
    /// <summary>NBD_INFO_EXPORT: 64-bit size, 16-bit transmission flags. Always sent.</summary>
    Export = 0,

    /// <summary>NBD_INFO_NAME: the export's canonical name.</summary>
    Name = 1,

    /// <summary>NBD_INFO_DESCRIPTION: a human-readable description (not sent).</summary>
    Description = 2,

    /// <summary>NBD_INFO_BLOCK_SIZE: 32-bit minimum, preferred and maximum block sizes.</summary>
    BlockSize = 3,
}
