using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Chain;

/// <summary>How to open an image with its backing chain. Backing images are always opened read-only.</summary>
public sealed record ChainOpenOptions
{
    public bool WritableTop { get; init; }

    public CacheMode TopCache { get; init; } = CacheMode.PageCache;

    public CacheMode BackingCache { get; init; } = CacheMode.PageCache;

    public int MaxDepth { get; init; } = Format.Qcow2Constants.MaxChainDepth;

    /// <summary>
    /// Asked about every image of the chain: a backing file on its resolved name before anything opens it, every image
    /// again on its opened descriptor. Null allows any file.
    /// </summary>
    public IFileConfinement? Confinement { get; init; }

    /// <summary>Hold QEMU-compatible image locks on every image while the chain is open (see <see cref="ImageOpenOptions.Locking"/>).</summary>
    public bool Locking { get; init; } = true;
}
