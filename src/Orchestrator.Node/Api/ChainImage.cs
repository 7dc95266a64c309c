namespace Orchestrator.Node.Api;

/// <summary>
/// Names an image of a disk's chain the way an operator types it: a full path, a path relative to the active
/// image's folder, or a bare file name when it is unique in the chain ("--base A.qcow2", like HMP's "block_stream virtio0 A").
/// </summary>
public static class ChainImage
{
    /// <summary>
    /// The chain entry <paramref name="name"/> designates; when none does, the name made absolute against the active
    /// image's folder (as QEMU resolves relative backing names, never against the node's current folder), for the
    /// engine to refuse with its own message.
    /// </summary>
    public static string Resolve(string name, IReadOnlyList<string> chain)
    {
        if (chain.Count == 0)
        {
            return name;
        }

        if (Path.IsPathRooted(name))
        {
            return Path.GetFullPath(name);
        }

        var exact = chain.FirstOrDefault(p => p == name);
        if (exact is not null)
        {
            return exact;
        }

        var folder = Path.GetDirectoryName(chain[0]) ?? string.Empty;
        var relative = Path.GetFullPath(name, folder);
        var byPath = chain.FirstOrDefault(p => string.Equals(Path.GetFullPath(p, folder), relative, StringComparison.Ordinal));
        if (byPath is not null)
        {
            return byPath;
        }

        var byName = chain.Where(p => Path.GetFileName(p) == name).ToList();
        return byName.Count == 1 ? byName[0] : relative;
    }
}
