using Akka.Actor;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Where each node serves NBD (its Unix socket, and its TCP address when it serves TCP), in a <see cref="ReplicatedMap"/>,
/// so that any node can give a disk's URIs on its host. Each node writes its own entry when its NBD server starts.
/// </summary>
public sealed class NbdEndpoints(ActorSystem system)
{
    private readonly ReplicatedMap _map = new(system, "nbd-endpoints");

    /// <summary>Records that <paramref name="node"/> serves NBD on <paramref name="socket"/> and, when not null, TCP <paramref name="tcpAuthority"/> (HOST:PORT).</summary>
    public Task PublishAsync(string node, string socket, string? tcpAuthority) => _map.SetAsync([KeyValuePair.Create(node, $"{socket}\n{tcpAuthority}")]);

    /// <summary>The node's NBD socket and TCP address (null when it serves no TCP); null when the node has not published them.</summary>
    public async Task<(string Socket, string? TcpAuthority)?> OfAsync(string node)
    {
        if (await _map.GetAsync(node).ConfigureAwait(false) is not { } value)
        {
            return null;
        }

        var parts = value.Split('\n', 2);
        return (parts[0], parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null);
    }
}
