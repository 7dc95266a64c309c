using System.Text;
using Akka.Cluster;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Pure rules of the shared-storage failover: which disks of a downed host move, and to which surviving host. A disk
/// moves when all its images lie under one shared root; it goes to one of the Up, reachable members that declare
/// that root, chosen by rendezvous hashing on the disk id, so every node picks the same one without talking, and a
/// host's disks spread over the survivors instead of all landing on one.
/// </summary>
public static class FailoverPlan
{
    /// <summary>One disk the asking node takes over: its registry record, the shared root it lies under, and its jobs.</summary>
    public sealed record Takeover(RegisteredDisk Disk, string Root, IReadOnlyList<string> Jobs);

    /// <summary>
    /// The disks of <paramref name="downedHost"/> (its registry <paramref name="registry"/>) that <paramref name="self"/>
    /// takes over, given the members this node sees now.
    /// </summary>
    public static IReadOnlyList<Takeover> For(RegistryState registry, string downedHost, string self, IReadOnlyList<MemberView> members)
    {
        var roots = members.Where(m => m.Status == MemberStatus.Up && m.Reachable && !m.Roles.Contains(downedHost))
            .SelectMany(m => SharedRoots.Of(m.Roles)).Distinct().ToList();
        var mine = new List<Takeover>();
        foreach (var disk in registry.Disks.Values.Where(d => d.Confirmed).OrderBy(d => d.Disk, StringComparer.Ordinal))
        {
            var root = SharedRoots.Containing([.. disk.Images.Select(i => i.Path)], roots);
            if (root is not null && TakerOf(disk.Disk, root, downedHost, members) == self)
            {
                var jobs = registry.Jobs.Where(kv => kv.Value == disk.Disk).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
                mine.Add(new Takeover(disk, root, jobs));
            }
        }

        return mine;
    }

    /// <summary>The surviving host that takes <paramref name="disk"/> (under <paramref name="root"/>) over; null when no Up member declares the root.</summary>
    public static string? TakerOf(string disk, string root, string downedHost, IReadOnlyList<MemberView> members) =>
        members.Where(m => m.Status == MemberStatus.Up && m.Reachable && !m.Roles.Contains(downedHost) && m.Roles.Contains(SharedRoots.RoleOf(root)))
            .Select(m => SharedRoots.NodeNameOf(m.Roles))
            .OfType<string>()
            .Distinct()
            .OrderByDescending(node => Score(disk, node))
            .ThenBy(node => node, StringComparer.Ordinal)
            .FirstOrDefault();

    /// <summary>FNV-1a over "disk/node": stable across processes and versions (string.GetHashCode is not).</summary>
    private static ulong Score(string disk, string node)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(disk + "/" + node))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
