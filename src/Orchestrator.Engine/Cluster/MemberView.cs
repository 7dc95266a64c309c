using Akka.Actor;
using Akka.Cluster;

namespace Orchestrator.Engine.Cluster;

/// <summary>The facts of one member the placement rules read, so they are pure functions testable without a cluster.</summary>
public sealed record MemberView(Address Address, IReadOnlySet<string> Roles, MemberStatus Status, bool Reachable)
{
    /// <summary>The members of a cluster state snapshot, with reachability as this node sees it.</summary>
    public static IReadOnlyList<MemberView> Of(ClusterEvent.CurrentClusterState state)
    {
        var unreachable = state.Unreachable.Select(m => m.UniqueAddress).ToHashSet();
        return state.Members
            .Select(m => new MemberView(m.Address, m.Roles.ToHashSet(), m.Status, !unreachable.Contains(m.UniqueAddress)))
            .ToList();
    }
}
