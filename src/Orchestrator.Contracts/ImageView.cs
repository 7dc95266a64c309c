namespace Orchestrator.Contracts;

/// <summary>One image of a chain: virtual size, cluster size, bytes it allocates itself, and its backing file as written in its header.</summary>
public sealed record ImageView(string Path, long VirtualSize, int ClusterSize, long AllocatedBytes, string? BackingFile);
