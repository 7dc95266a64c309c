namespace Orchestrator.Engine;

/// <summary>Disks and snapshots live only under the configured storage roots; everything else is refused.</summary>
public static class StoragePolicy
{
    /// <summary>The absolute, normalised path, if it (after resolving symlinks of existing parts) lies under a root.</summary>
    public static string Resolve(string path, IReadOnlyList<string> roots)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new StorageRootException("the path is empty");
        }

        var full = Path.GetFullPath(path);
        var real = RealPath(full);
        foreach (var root in roots)
        {
            var realRoot = RealPath(Path.GetFullPath(root));
            if (IsUnder(real, realRoot))
            {
                return full;
            }
        }

        throw new StorageRootException($"'{path}' is outside the storage roots ({string.Join(", ", roots)})");
    }

    private static bool IsUnder(string path, string root)
    {
        var withSlash = root.EndsWith('/') ? root : root + "/";
        return path == root || path.StartsWith(withSlash, StringComparison.Ordinal);
    }

    /// <summary>Resolves symlinks in the existing prefix of a path, so a link cannot lead outside a root.</summary>
    private static string RealPath(string full)
    {
        var existing = full;
        var rest = "";
        while (!File.Exists(existing) && !Directory.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null)
            {
                return full;
            }

            rest = Path.Combine(Path.GetFileName(existing), rest);
            existing = parent;
        }

        var info = new FileInfo(existing);
        var target = info.Exists ? info.ResolveLinkTarget(true)?.FullName : new DirectoryInfo(existing).ResolveLinkTarget(true)?.FullName;
        var resolvedParent = ResolveDirectories(target ?? existing);
        return rest.Length == 0 ? resolvedParent : Path.Combine(resolvedParent, rest.TrimEnd('/'));
    }

    private static string ResolveDirectories(string path)
    {
        var parent = Path.GetDirectoryName(path);
        if (parent is null)
        {
            return path;
        }

        var resolved = ResolveDirectories(parent);
        var here = Path.Combine(resolved, Path.GetFileName(path));
        var link = Directory.Exists(here) ? new DirectoryInfo(here).ResolveLinkTarget(true)?.FullName : null;
        return link ?? here;
    }
}
