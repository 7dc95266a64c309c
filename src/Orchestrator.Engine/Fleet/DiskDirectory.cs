using Akka.Actor;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Which host each disk is registered on, fleet-wide (a <see cref="ReplicatedMap"/> on every member): the API of any
/// node finds a disk's host here, and the pinned allocation strategy finds where a disk's shard goes. Each host writes
/// its disks here when it starts and when one is added; its registry (the durable record) removes them. The map itself
/// is not durable, so a host that is down when the whole cluster restarted is not in it until it returns.
/// </summary>
public sealed class DiskDirectory(ActorSystem system)
{
    private readonly ReplicatedMap _map = new(system, "disk-hosts");

    /// <summary>Records each disk of <paramref name="disks"/> as hosted on <paramref name="host"/>.</summary>
    public Task PublishAsync(IReadOnlyCollection<string> disks, string host) =>
        disks.Count == 0 ? Task.CompletedTask : _map.SetAsync(disks.Select(d => KeyValuePair.Create(d, host)));

    public Task PublishAsync(string disk, string host) => PublishAsync([disk], host);

    /// <summary>Forgets the disk, unless another host has registered it meanwhile.</summary>
    public Task RemoveAsync(string disk, string host) => _map.RemoveIfAsync(disk, host);

    /// <summary>The disk's host, or null when no host has registered it.</summary>
    public Task<string?> HostOfAsync(string disk) => _map.GetAsync(disk);

    /// <summary>Every registered disk and its host, as this node's replica has them.</summary>
    public Task<IReadOnlyDictionary<string, string>> AllAsync() => _map.AllAsync();
}
