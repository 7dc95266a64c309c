namespace Orchestrator.Cli.Demo;

/// <summary>
/// What every byte of the disk must read as: the chain's content as the builder wrote it (whole 64 KiB clusters, each
/// filled with one byte value), overlaid by the guest's writes (whole 4 KiB blocks, one nonzero value each). The demo
/// verifies the final disk against it byte for byte.
/// </summary>
public sealed class GuestModel
{
    public const int ClusterSize = 64 * 1024;
    public const int BlockSize = 4 * 1024;

    private readonly byte[] _clusters;
    private readonly byte[] _blocks;

    public GuestModel(long size)
    {
        Size = size;
        _clusters = new byte[size / ClusterSize];
        _blocks = new byte[size / BlockSize];
    }

    public long Size { get; }

    /// <summary>The builder wrote <paramref name="value"/> (0 for a zero write) over whole clusters.</summary>
    public void ChainWrote(long offset, long length, byte value) =>
        _clusters.AsSpan((int)(offset / ClusterSize), (int)(length / ClusterSize)).Fill(value);

    /// <summary>The guest wrote <paramref name="value"/> (never 0) over whole blocks.</summary>
    public void GuestWrote(long offset, long length, byte value) =>
        _blocks.AsSpan((int)(offset / BlockSize), (int)(length / BlockSize)).Fill(value);

    /// <summary>The value every byte of the block at <paramref name="offset"/> must have.</summary>
    public byte Expected(long offset)
    {
        var guest = _blocks[offset / BlockSize];
        return guest != 0 ? guest : _clusters[offset / ClusterSize];
    }
}
