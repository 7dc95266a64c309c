using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2.Metadata;

/// <summary>
/// L2 tables by host offset. Clean tables are dropped when the cache passes its budget; dirty ones stay
/// until written, because the write order (data, flush, L2) is decided by the caller.
/// </summary>
internal sealed class L2TableCache(ImageFile file, int clusterSize, long budgetBytes = 64L * 1024 * 1024)
{
    private readonly Dictionary<long, L2Table> _tables = [];
    private byte[]? _scratch;

    public L2Table Get(long hostOffset)
    {
        if (_tables.TryGetValue(hostOffset, out var table))
        {
            return table;
        }

        if ((long)_tables.Count * clusterSize >= budgetBytes)
        {
            EvictClean();
        }

        var raw = _scratch ??= new byte[clusterSize];
        file.Read(raw, hostOffset);
        table = L2Table.Decode(hostOffset, raw);
        _tables[hostOffset] = table;
        return table;
    }

    /// <summary>Registers a freshly allocated, all-unallocated table (not yet on disk).</summary>
    public L2Table AddNew(long hostOffset)
    {
        var table = new L2Table(hostOffset, new ulong[clusterSize / 8]) { Dirty = true };
        _tables[hostOffset] = table;
        return table;
    }

    public bool HasDirty => _tables.Values.Any(t => t.Dirty);

    /// <summary>Writes every dirty table (one cluster write each). Does not flush.</summary>
    public void WriteDirty()
    {
        var raw = _scratch ??= new byte[clusterSize];
        foreach (var table in _tables.Values.Where(t => t.Dirty).OrderBy(t => t.HostOffset))
        {
            table.Encode(raw);
            file.Write(raw, table.HostOffset);
            table.Dirty = false;
        }
    }

    private void EvictClean()
    {
        foreach (var key in _tables.Where(kv => !kv.Value.Dirty).Select(kv => kv.Key).ToList())
        {
            _tables.Remove(key);
        }
    }
}
