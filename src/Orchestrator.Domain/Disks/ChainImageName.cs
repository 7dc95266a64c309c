using System.Diagnostics.CodeAnalysis;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// Finds the image of a disk's chain that an operator names the way QEMU's users do: a full path, a path relative to
/// the active image's folder (where QEMU resolves relative backing names; never the process's current folder), or a
/// bare file name when exactly one image of the chain has it ("--base A.qcow2", like HMP's "block_stream virtio0 A").
/// Pure: it compares strings and never touches the file system. The API and the disk actor both use it.
/// </summary>
public static class ChainImageName
{
    /// <summary>
    /// The chain entry <paramref name="name"/> designates. A name that designates none resolves to itself made absolute
    /// against the active image's folder, so that the stream decision refuses it with QEMU's wording ("not a backing
    /// image", "Cannot find device"). Only a bare file name that several images of the chain share is refused here.
    /// </summary>
    /// <param name="chain">Full paths, active image first; empty for a disk not registered (the name is kept as given).</param>
    public static bool TryResolve(string name, IReadOnlyList<string> chain, out string path, [NotNullWhen(false)] out DomainError? error)
    {
        error = null;
        path = name;
        if (chain.Count == 0)
        {
            return true;
        }

        if (Path.IsPathRooted(name))
        {
            path = Path.GetFullPath(name);
            return true;
        }

        var folder = Path.GetDirectoryName(chain[0]) ?? "/";
        var relative = Path.GetFullPath(name, folder);
        if (chain.FirstOrDefault(p => p == name || Path.GetFullPath(p, folder) == relative) is { } byPath)
        {
            path = byPath;
            return true;
        }

        var byFileName = chain.Where(p => Path.GetFileName(p) == name).ToList();
        switch (byFileName.Count)
        {
            case 1:
                path = byFileName[0];
                return true;
            case > 1:
                error = DomainError.InvalidParameter(
                    $"image name '{name}' is ambiguous: {byFileName.Count} images of the chain have that file name ({string.Join(", ", byFileName)}); name it by its path");
                return false;
            default:
                path = relative;
                return true;
        }
    }
}
