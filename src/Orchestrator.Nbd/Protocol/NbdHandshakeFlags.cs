namespace Orchestrator.Nbd.Protocol;

/// <summary>The server's 16-bit handshake flags and the client's 32-bit flags (the same two bits).</summary>
[Flags]
internal enum NbdHandshakeFlags : uint
{
    None = 0,

    /// <summary>NBD_FLAG_FIXED_NEWSTYLE / NBD_FLAG_C_FIXED_NEWSTYLE: option haggling with replies.</summary>
    FixedNewstyle = 1 << 0,

    /// <summary>NBD_FLAG_NO_ZEROES / NBD_FLAG_C_NO_ZEROES: no 124 zero bytes after NBD_OPT_EXPORT_NAME's reply.</summary>
    NoZeroes = 1 << 1,
}
