using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// The slow, blocking part of taking a disk: resolving its active image under the storage roots, opening the chain
/// below it read-only and confined to the roots (every name checked before its open, every descriptor after, anything
/// but a regular file refused), and reading each image's identity.
/// Runs on a task, never on the disk actor's thread; nothing is written.
/// </summary>
public sealed record ChainProbe(IReadOnlyList<string> Chain, IReadOnlyList<ImageClaim> Claims, IReadOnlyList<DiskReplies.ImageSummary> Images)
{
    public static ChainProbe Open(string activePath, EngineSettings settings)
    {
        var roots = settings.StorageRoots;
        var active = StoragePolicy.Resolve(activePath, roots);
        using var chain = ImageChain.Open(active, settings.ChainOptions(writableTop: false));
        List<string> paths = [.. chain.DisplayNames.Select(Path.GetFullPath)];
        foreach (var path in paths)
        {
            StoragePolicy.Resolve(path, roots);
        }

        return new ChainProbe(paths, ClaimsOf(paths), AllocationSummary.Of(chain));
    }

    /// <summary>
    /// The claims of a chain, active image first (written), the others read. A file that cannot be stat'ed now (gone,
    /// or not created yet) is claimed by its path.
    /// </summary>
    public static IReadOnlyList<ImageClaim> ClaimsOf(IReadOnlyList<string> chain) =>
        [.. chain.Select((path, i) => new ImageClaim(KeyOf(path), path, Writable: i == 0))];

    /// <summary>The claims of <paramref name="chain"/> plus a file about to be created (a snapshot's or copy's destination).</summary>
    public static IReadOnlyList<ImageClaim> WithPending(IReadOnlyList<ImageClaim> claims, string newPath) =>
        [.. claims, new ImageClaim(ImageClaim.PendingKey(newPath), newPath, Writable: true)];

    private static string KeyOf(string path)
    {
        try
        {
            return FileIdentity.Of(path).Key;
        }
        catch (Qcow2Exception)
        {
            return ImageClaim.PendingKey(path);
        }
    }
}
