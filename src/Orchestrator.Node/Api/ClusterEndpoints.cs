using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Engine.Cluster;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>/cluster/members: the membership as this node sees it (cluster-config/local-cluster.sh waits on it).</summary>
public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster/members", (ActorSystem system) => Members(system))
            .WithTags("Cluster")
            .WithSummary("Every cluster member: node name, address, status (Joining, Up, Leaving, Exiting, Down) and whether this node reaches it")
            .Produces<ClusterMemberView[]>()
            .ProducesErrors();
        return app;
    }

    private static ClusterMemberView[] Members(ActorSystem system) =>
        MemberView.Of(Akka.Cluster.Cluster.Get(system).State)
            .Select(m => new ClusterMemberView(SharedRoots.NodeNameOf(m.Roles) ?? "", m.Address.ToString(), m.Status.ToString(), m.Reachable))
            .OrderBy(m => m.Node, StringComparer.Ordinal)
            .ToArray();
}
