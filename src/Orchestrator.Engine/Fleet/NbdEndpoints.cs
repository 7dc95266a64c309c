using Akka.Actor;
using Akka.DistributedData;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Where each node serves NBD (its Unix socket, and its TCP address when it serves TCP), in Akka's distributed data,
/// so that any node can give a disk's URIs on its host. Each node writes its own entry when its NBD server starts.
/// </summary>
public sealed class NbdEndpoints(ActorSystem system)
{
    private static readonly TimeSpan QuorumTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);
    private static readonly LWWDictionaryKey<string, string> Key = new("nbd-endpoints");

    private readonly DistributedData _data = DistributedData.Get(system);
    private readonly Akka.Cluster.UniqueAddress _self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;

    /// <summary>Records that <paramref name="node"/> serves NBD on <paramref name="socket"/> and, when not null, TCP <paramref name="tcpAuthority"/> (HOST:PORT).</summary>
    public async Task PublishAsync(string node, string socket, string? tcpAuthority) =>
        await _data.Replicator.Ask<IUpdateResponse>(Dsl.Update(Key, LWWDictionary<string, string>.Empty, new WriteMajority(QuorumTimeout),
            map => map.SetItem(_self, node, $"{socket}\n{tcpAuthority}")), AskTimeout).ConfigureAwait(false);

    /// <summary>The node's NBD socket and TCP address (null when it serves no TCP); null when the node has not published them.</summary>
    public async Task<(string Socket, string? TcpAuthority)?> OfAsync(string node)
    {
        foreach (var consistency in new IReadConsistency[] { ReadLocal.Instance, new ReadMajority(QuorumTimeout) })
        {
            var reply = await _data.Replicator.Ask<IGetResponse>(Dsl.Get(Key, consistency), AskTimeout).ConfigureAwait(false);
            if (reply.IsSuccessful && reply.Get(Key).TryGetValue(node, out var value))
            {
                var parts = value.Split('\n', 2);
                return (parts[0], parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null);
            }
        }

        return null;
    }
}
