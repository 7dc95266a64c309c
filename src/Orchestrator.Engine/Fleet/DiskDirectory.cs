using Akka.Actor;
using Akka.DistributedData;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Which host each disk is registered on, fleet-wide, in Akka's distributed data (a last-writer-wins map replicated to
/// every member): the API of any node finds a disk's host here, and the pinned allocation strategy finds where a
/// disk's shard goes. Each host's registry (the durable record) writes its disks here when it starts and when one is
/// added or removed; the map itself is not durable, so a host that is down when the whole cluster restarted is not in
/// it until it returns. Writes go to a majority and reads on a miss ask a majority, so a disk just added is found by
/// every node, the coordinator's included.
/// </summary>
public sealed class DiskDirectory(ActorSystem system)
{
    private static readonly TimeSpan QuorumTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);
    private static readonly LWWDictionaryKey<string, string> Key = new("disk-hosts");

    private readonly DistributedData _data = DistributedData.Get(system);
    private readonly Akka.Cluster.UniqueAddress _self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;

    /// <summary>Records each disk of <paramref name="disks"/> as hosted on <paramref name="host"/>.</summary>
    public Task PublishAsync(IReadOnlyCollection<string> disks, string host) =>
        disks.Count == 0 ? Task.CompletedTask : UpdateAsync(map => disks.Aggregate(map, (m, d) => m.SetItem(_self, d, host)));

    public Task PublishAsync(string disk, string host) => PublishAsync([disk], host);

    /// <summary>Forgets the disk, unless another host has registered it meanwhile.</summary>
    public Task RemoveAsync(string disk, string host) =>
        UpdateAsync(map => map.TryGetValue(disk, out var current) && current == host ? map.Remove(_self, disk) : map);

    /// <summary>The disk's host, or null when no host has registered it.</summary>
    public async Task<string?> HostOfAsync(string disk)
    {
        if ((await ReadAsync(ReadLocal.Instance).ConfigureAwait(false)).TryGetValue(disk, out var host))
        {
            return host;
        }

        return (await ReadAsync(new ReadMajority(QuorumTimeout)).ConfigureAwait(false)).GetValueOrDefault(disk);
    }

    /// <summary>Every registered disk and its host, as this node's replica has them.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AllAsync() => await ReadAsync(ReadLocal.Instance).ConfigureAwait(false);

    private async Task<IReadOnlyDictionary<string, string>> ReadAsync(IReadConsistency consistency)
    {
        var reply = await _data.Replicator.Ask<IGetResponse>(Dsl.Get(Key, consistency), AskTimeout).ConfigureAwait(false);
        return reply.IsSuccessful ? reply.Get(Key).Entries : new Dictionary<string, string>();
    }

    private async Task UpdateAsync(Func<LWWDictionary<string, string>, LWWDictionary<string, string>> modify)
    {
        // A majority that does not answer in time still gets the update by gossip: the local write is done either way.
        await _data.Replicator.Ask<IUpdateResponse>(
            Dsl.Update(Key, LWWDictionary<string, string>.Empty, new WriteMajority(QuorumTimeout), modify), AskTimeout).ConfigureAwait(false);
    }
}
