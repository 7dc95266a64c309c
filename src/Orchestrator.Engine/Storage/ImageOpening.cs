using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.Storage;

/// <summary>
/// How the engine opens and creates images: always confined to the storage roots, and locked as QEMU locks them
/// unless <see cref="EngineSettings.ImageLocking"/> is off. Every open of the engine goes through here.
/// </summary>
public static class ImageOpening
{
    public static StorageConfinement Confinement(this EngineSettings settings) => new(settings.StorageRoots);

    public static ChainOpenOptions ChainOptions(this EngineSettings settings, bool writableTop) => new()
    {
        WritableTop = writableTop,
        TopCache = settings.Cache,
        BackingCache = settings.Cache,
        Confinement = settings.Confinement(),
        Locking = settings.ImageLocking,
    };

    /// <summary>One image, read-only, without its backing chain (e.g. to read a header at recovery).</summary>
    public static ImageOpenOptions ReadOnlyImage(this EngineSettings settings) =>
        ImageOpenOptions.ReadOnly(settings.Cache) with { Confinement = settings.Confinement(), Locking = settings.ImageLocking };

    /// <summary>A new image (snapshot overlay, block-copy destination): its name and the created file are both confined.</summary>
    public static ImageCreateOptions Confined(this ImageCreateOptions options, EngineSettings settings) =>
        options with { Confinement = settings.Confinement(), Locking = settings.ImageLocking };
}
