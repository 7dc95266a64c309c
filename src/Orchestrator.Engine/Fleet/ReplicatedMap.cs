using Akka.Actor;
using Akka.DistributedData;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// A string-to-string map on every member, in Akka's distributed data (last writer wins): writes go to a majority,
/// and a key missing from this node's replica is asked of a majority, so what one node just wrote is found by all.
/// </summary>
public sealed class ReplicatedMap(ActorSystem system, string name)
{
    private static readonly TimeSpan QuorumTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(4);

    private readonly LWWDictionaryKey<string, string> _key = new(name);
    private readonly DistributedData _data = DistributedData.Get(system);
    private readonly Akka.Cluster.UniqueAddress _self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;

    /// <summary>Sets each entry; a majority that does not answer in time still gets it by gossip (the local write is done).</summary>
    public Task SetAsync(IEnumerable<KeyValuePair<string, string>> entries) =>
        UpdateAsync(map => entries.Aggregate(map, (m, e) => m.SetItem(_self, e.Key, e.Value)));

    /// <summary>Removes <paramref name="key"/> if its value is still <paramref name="expected"/>.</summary>
    public Task RemoveIfAsync(string key, string expected) =>
        UpdateAsync(map => map.TryGetValue(key, out var current) && current == expected ? map.Remove(_self, key) : map);

    /// <summary>The value of <paramref name="key"/>: this node's replica, else a majority's; null when nobody has it.</summary>
    public async Task<string?> GetAsync(string key)
    {
        // One key is looked up in the map itself: its Entries copy every entry, which with 1,000 disks made each
        // lookup (every command, every shard allocation at a restart) cost a copy of the whole map.
        if ((await ReadAsync(ReadLocal.Instance).ConfigureAwait(false)) is { } local && local.TryGetValue(key, out var value))
        {
            return value;
        }

        return (await ReadAsync(new ReadMajority(QuorumTimeout)).ConfigureAwait(false)) is { } majority && majority.TryGetValue(key, out var found)
            ? found
            : null;
    }

    /// <summary>Every entry, as this node's replica has them.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AllAsync() =>
        (IReadOnlyDictionary<string, string>?)(await ReadAsync(ReadLocal.Instance).ConfigureAwait(false))?.Entries ?? new Dictionary<string, string>();

    /// <summary>The map as read with <paramref name="consistency"/>; null when it is empty or could not be read.</summary>
    private async Task<LWWDictionary<string, string>?> ReadAsync(IReadConsistency consistency)
    {
        var reply = await _data.Replicator.Ask<IGetResponse>(Dsl.Get(_key, consistency), AskTimeout).ConfigureAwait(false);
        return reply.IsSuccessful ? reply.Get(_key) : null;
    }

    private async Task UpdateAsync(Func<LWWDictionary<string, string>, LWWDictionary<string, string>> modify) =>
        await _data.Replicator.Ask<IUpdateResponse>(
            Dsl.Update(_key, LWWDictionary<string, string>.Empty, new WriteMajority(QuorumTimeout), modify), AskTimeout).ConfigureAwait(false);
}
