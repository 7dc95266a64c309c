namespace Orchestrator.Nbd;

/// <summary>One run of <see cref="Length"/> bytes with the same allocation state, as NBD_CMD_BLOCK_STATUS reports it.</summary>
public readonly record struct NbdExtent(long Length, NbdExtentFlags Flags);
