using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Chain;

/// <summary>How to open an image with its backing chain. Backing images are always opened read-only.</summary>
public sealed record ChainOpenOptions
{
    public bool WritableTop { get; init; }

    public CacheMode TopCache { get; init; } = CacheMode.PageCache;

    public CacheMode BackingCache { get; init; } = CacheMode.PageCache;

    public int MaxDepth { get; init; } = Format.Qcow2Constants.MaxChainDepth;
}
