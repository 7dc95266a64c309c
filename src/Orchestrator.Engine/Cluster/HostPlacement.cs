using Akka.Actor;
using Akka.Cluster;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Pure rules for pinning: which member is a host, and whether commands for it can be sent. A host is the member whose
/// role equals the host's node name; if a restarted node's new incarnation is Up while the old one is still being
/// removed, the Up one wins.
/// </summary>
public static class HostPlacement
{
    /// <summary>The address of the Up member that is <paramref name="host"/>, or null when there is none.</summary>
    public static Address? UpAddress(string host, IEnumerable<MemberView> members) =>
        members.FirstOrDefault(m => m.Status == MemberStatus.Up && m.Roles.Contains(host))?.Address;

    /// <summary>Whether a command for a disk on <paramref name="host"/> can be sent from the node that sees <paramref name="members"/>.</summary>
    public static HostStatus StatusOf(string host, IEnumerable<MemberView> members)
    {
        var candidates = members.Where(m => m.Roles.Contains(host)).ToList();
        if (candidates.Count == 0)
        {
            return HostStatus.Absent;
        }

        return candidates.Any(m => m.Status == MemberStatus.Up && m.Reachable) ? HostStatus.Up : HostStatus.Unreachable;
    }

    /// <summary>The region on <paramref name="hostAddress"/> among the registered ones; a local region's path has no address, so it takes the node's own.</summary>
    public static IActorRef? RegionAt(Address hostAddress, IEnumerable<IActorRef> regions, Address selfAddress) =>
        regions.FirstOrDefault(r => (r.Path.Address.HasLocalScope ? selfAddress : r.Path.Address) == hostAddress);
}
