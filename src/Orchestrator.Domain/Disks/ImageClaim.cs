namespace Orchestrator.Domain.Disks;

/// <summary>
/// One image a disk holds: its identity (<c>FileIdentity.Key</c>, device and inode, so a hard link, a symlink or '..'
/// name the same image; "path:" and the path for a file that does not exist yet, a snapshot's destination), the path
/// it was reached by, and whether the disk writes it (its active image, or a copy's destination) or only reads it.
/// </summary>
public sealed record ImageClaim(string Key, string Path, bool Writable)
{
    /// <summary>The key of a file that is about to be created: it conflicts by path until its identity replaces it.</summary>
    public static string PendingKey(string path) => "path:" + path;

    /// <summary>True when both name the same file, by identity or by path.</summary>
    public bool SameImage(ImageClaim other) =>
        string.Equals(Key, other.Key, StringComparison.Ordinal) || string.Equals(Path, other.Path, StringComparison.Ordinal);
}
