using Orchestrator.Engine.Storage;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine;

/// <summary>Disks and snapshots live only under the configured storage roots; everything else is refused.</summary>
public static class StoragePolicy
{
    /// <summary>
    /// The absolute path (as named, '..' folded where that names the same file), if the file it leads to lies under a root: resolved as the kernel
    /// walks it, symlinks followed before '..' is applied. A name is not a promise; every open checks its descriptor again.
    /// </summary>
    public static string Resolve(string path, IReadOnlyList<string> roots)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new StorageRootException("the path is empty");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new StorageRootException("the path contains a NUL byte");
        }

        var real = PhysicalPath.Resolve(path);
        if (new StorageConfinement(roots).Refusal(real) is not null)
        {
            throw new StorageRootException($"'{path}' is outside the storage roots ({string.Join(", ", roots)})");
        }

        // Folding '..' by text changes the file named when a symlink precedes it: then the resolved path is the name.
        var full = Path.GetFullPath(path);
        return PhysicalPath.Resolve(full) == real ? full : real;
    }
}
