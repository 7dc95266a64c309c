using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// A small sharded entity standing in for the disk entity: it answers where it runs, and records each start in a log
/// shared by the in-process nodes, so a test can see an entity restart on its host without any command.
/// </summary>
public sealed class TestEntity : ReceiveActor
{
    public TestEntity(string entityId, ConcurrentQueue<EntityStart> starts)
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfMember.Roles.First();
        starts.Enqueue(new EntityStart(entityId, node, Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress.Uid));
        Receive<Where>(_ => Sender.Tell(new Here(entityId, node)));
        Receive<Stop>(_ => Context.Stop(Self));
    }

    public static Props Props(string entityId, ConcurrentQueue<EntityStart> starts) => Akka.Actor.Props.Create(() => new TestEntity(entityId, starts));

    /// <summary>Asks the entity where it runs.</summary>
    public sealed record Where(string EntityId);

    public sealed record Here(string EntityId, string Node);

    /// <summary>The hand-off message: the entity stops (the disk entity would pause its job at a checkpoint first).</summary>
    public sealed record Stop;

    /// <summary>One start of an entity: on which node, and which incarnation of it (the member's uid).</summary>
    public sealed record EntityStart(string EntityId, string Node, long Incarnation);
}
