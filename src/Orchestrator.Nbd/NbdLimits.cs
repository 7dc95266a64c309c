namespace Orchestrator.Nbd;

/// <summary>The sizes this server advertises and enforces.</summary>
public static class NbdLimits
{
    /// <summary>NBD_INFO_BLOCK_SIZE minimum: any byte offset and length is served (the chain does read-modify-write).</summary>
    public const uint MinimumBlockSize = 1;

    /// <summary>NBD_INFO_BLOCK_SIZE preferred: a page; smaller writes cost a read-modify-write of the cluster.</summary>
    public const uint PreferredBlockSize = 4096;

    /// <summary>NBD_INFO_BLOCK_SIZE maximum: the largest READ or WRITE payload; larger requests get EINVAL.</summary>
    public const uint MaximumPayload = 32 * 1024 * 1024;

    /// <summary>The protocol's limit on strings (export names, messages).</summary>
    public const int MaximumStringBytes = 4096;

    /// <summary>
    /// The largest option a client may send. The largest legal one is NBD_OPT_GO with a 4096-byte name and a list of
    /// information requests; anything beyond this is hostile and ends the connection (after NBD_REP_ERR_TOO_BIG).
    /// </summary>
    public const int MaximumOptionBytes = 64 * 1024;
}
