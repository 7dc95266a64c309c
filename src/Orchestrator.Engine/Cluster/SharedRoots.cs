using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Storage roots that several hosts mount at the same path (NFS, a cluster file system): a disk whose images all lie
/// under one of them can run on any host that declares it. Each member announces its shared roots as cluster roles
/// ("shared-root:" and the path), so every node knows who could take a disk over without asking anyone.
/// </summary>
public static class SharedRoots
{
    public const string RolePrefix = "shared-root:";

    // Akka.Cluster gives every member the role of its data center, "dc-" and its name.
    private const string DataCenterPrefix = "dc-";

    /// <summary>The role a member carries for the shared root <paramref name="root"/> (a full path).</summary>
    public static string RoleOf(string root) => RolePrefix + root;

    /// <summary>The shared roots among a member's roles.</summary>
    public static IReadOnlyList<string> Of(IEnumerable<string> roles) =>
        [.. roles.Where(r => r.StartsWith(RolePrefix, StringComparison.Ordinal)).Select(r => r[RolePrefix.Length..]).Order(StringComparer.Ordinal)];

    /// <summary>A member's node name: its one role that is neither a shared root nor Akka's data-center role ("dc-default").</summary>
    public static string? NodeNameOf(IEnumerable<string> roles) =>
        roles.FirstOrDefault(r => !r.StartsWith(RolePrefix, StringComparison.Ordinal) && !r.StartsWith(DataCenterPrefix, StringComparison.Ordinal));

    /// <summary>
    /// The shared root under which every one of <paramref name="paths"/> lies, or null when there is none (an image on
    /// a host's own storage, or images split over two roots, keep the disk on its host). Paths are compared as the
    /// registry recorded them: full paths, already resolved inside the storage roots when the disk claimed them.
    /// </summary>
    public static string? Containing(IReadOnlyCollection<string> paths, IEnumerable<string> roots)
    {
        if (paths.Count == 0)
        {
            return null;
        }

        return roots.Where(root => paths.All(p => PhysicalPath.IsUnder(Path.GetFullPath(p), root))).OrderByDescending(r => r.Length).FirstOrDefault();
    }

    /// <summary>What is wrong with <paramref name="root"/> as a shared root, or null: a full path, and nothing a role or HOCON string cannot carry.</summary>
    public static string? Problem(string root)
    {
        if (!Path.IsPathFullyQualified(root))
        {
            return $"the shared root '{root}' is not a full path";
        }

        return root.Any(c => char.IsControl(c) || c is '"' or '\\' or '$' or '{' or '}')
            ? $"the shared root '{root}' holds a character a cluster role cannot carry (quotes, backslashes, '$', braces or control characters)"
            : null;
    }
}
