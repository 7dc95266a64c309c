using System.Buffers.Binary;
using Orchestrator.Qcow2.Metadata;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Refcounts as a mutant's bytes state them before a writable session, read from the header fields directly
/// (entries outside the bytes count as 0, as reads past the end of a file return zeros).
/// </summary>
internal sealed class PreSessionRefcounts
{
    private readonly byte[] _image;
    private readonly int _clusterSize;
    private readonly int _order;
    private readonly long _tableOffset;
    private readonly long _tableEntries;
    private readonly Dictionary<long, RefcountBlock?> _blocks = [];

    public PreSessionRefcounts(byte[] image)
    {
        _image = image;
        var version = BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(4));
        _clusterSize = 1 << (int)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(20));
        _order = version >= 3 ? (int)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(96)) : 4;
        _tableOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(image.AsSpan(48));
        _tableEntries = (long)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(56)) * _clusterSize / 8;
    }

    public ulong Get(long cluster)
    {
        var entries = (_clusterSize * 8L) >> _order;
        var blockIndex = cluster / entries;
        if (!_blocks.TryGetValue(blockIndex, out var block))
        {
            block = Load(blockIndex);
            _blocks[blockIndex] = block;
        }

        return block?.Get((int)(cluster % entries)) ?? 0;
    }

    private RefcountBlock? Load(long blockIndex)
    {
        if (blockIndex >= _tableEntries)
        {
            return null;
        }

        var entryAt = _tableOffset + (blockIndex * 8);
        if (entryAt + 8 > _image.Length)
        {
            return null;
        }

        var offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(_image.AsSpan((int)entryAt)) & ~0x1FFUL);
        if (offset <= 0)
        {
            return null;
        }

        var data = new byte[_clusterSize];
        if (offset < _image.Length)
        {
            _image.AsSpan((int)offset, (int)Math.Min(_clusterSize, _image.Length - offset)).CopyTo(data);
        }

        return new RefcountBlock(offset, data, _order);
    }
}
