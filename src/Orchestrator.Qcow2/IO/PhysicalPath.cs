namespace Orchestrator.Qcow2.IO;

/// <summary>
/// Resolves a path as the kernel walks it, without opening anything: component by component, symlinks followed
/// where they are met and '..' applied to what was reached so far. A lexical normalisation would turn
/// 'root/link/../x' into 'root/x' while the kernel, following 'link' first, lands wherever the link's parent is.
/// Components that do not exist are appended as written.
/// </summary>
public static class PhysicalPath
{
    // Linux's limit on symlinks followed in one lookup (MAXSYMLINKS).
    private const int MaxLinks = 40;

    /// <summary>The absolute path <paramref name="path"/> leads to (relative paths start at the working folder).</summary>
    public static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var pending = new List<string>(Split(path.StartsWith('/') ? path : Path.Combine(Directory.GetCurrentDirectory(), path)));
        var resolved = new List<string>();
        var links = 0;
        var missing = false;
        while (pending.Count > 0)
        {
            var component = pending[0];
            pending.RemoveAt(0);
            if (component == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = Join(resolved, component);
            var target = missing ? null : new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                missing = missing || !Path.Exists(candidate);
                resolved.Add(component);
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new Qcow2Exception(Qcow2ErrorKind.InvalidArgument, $"too many levels of symbolic links (more than {MaxLinks})", path);
            }

            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }

            pending.InsertRange(0, Split(target));
        }

        return "/" + string.Join('/', resolved);
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies below it (both already resolved).</summary>
    public static bool IsUnder(string path, string folder)
    {
        var withSlash = folder.EndsWith('/') ? folder : folder + "/";
        return path == folder.TrimEnd('/') || path.StartsWith(withSlash, StringComparison.Ordinal) || folder == "/";
    }

    private static IEnumerable<string> Split(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".");

    private static string Join(List<string> resolved, string component) =>
        "/" + string.Join('/', resolved.Append(component));
}
