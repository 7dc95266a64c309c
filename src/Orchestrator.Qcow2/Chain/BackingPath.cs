namespace Orchestrator.Qcow2.Chain;

/// <summary>How QEMU turns a backing file name into a path (block.c path_combine): relative names resolve from the referring image's folder.</summary>
public static class BackingPath
{
    /// <summary>
    /// QEMU's "full-backing-filename": an absolute name stays as it is; a relative one is appended to the
    /// referring image's path up to and including its last '/', with no normalisation (as qemu-img info prints it).
    /// </summary>
    public static string Combine(string referringImagePath, string backingName)
    {
        if (backingName.StartsWith('/'))
        {
            return backingName;
        }

        var slash = referringImagePath.LastIndexOf('/');
        return slash < 0 ? backingName : referringImagePath[..(slash + 1)] + backingName;
    }

    /// <summary>The canonical identity of a file (absolute, symlinks resolved), used to detect loops and match a base.</summary>
    public static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
            return target?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    /// <summary>
    /// The name to store in <paramref name="imagePath"/>'s header so that it finds <paramref name="backingPath"/>:
    /// relative to the image's folder, so a chain moved as a whole keeps working.
    /// </summary>
    public static string RelativeName(string imagePath, string backingPath)
    {
        var imageDir = Path.GetDirectoryName(Path.GetFullPath(imagePath)) ?? "/";
        return Path.GetRelativePath(imageDir, Path.GetFullPath(backingPath));
    }
}
