using System.Numerics;

namespace Orchestrator.Testing;

/// <summary>What <see cref="RandomChainBuilder"/> should build. Printed (as a record) in every failure message.</summary>
public sealed record ChainSpec
{
    public const int MinClusterSize = 512;
    public const int MaxClusterSize = 2 * 1024 * 1024;

    /// <summary>Number of images, bottom first; the bottom has no backing file.</summary>
    public int Layers { get; init; } = 3;

    /// <summary>Virtual size of the top image in bytes; a multiple of 512.</summary>
    public long VirtualSize { get; init; } = 8L * 1024 * 1024;

    /// <summary>A power of two from 512 to 2 MiB.</summary>
    public int ClusterSize { get; init; } = 65536;

    public ChainCompat Compat { get; init; } = ChainCompat.V3;

    public int WritesPerLayer { get; init; } = 16;

    /// <summary>Share of writes done with <c>write -z</c> (half of them also with <c>-u</c>).</summary>
    public double ZeroWriteFraction { get; init; } = 0.15;

    /// <summary>
    /// Share of writes done with <c>write -c</c>: whole clusters only, and only on clusters
    /// this layer has not allocated yet (QEMU fails with EIO otherwise).
    /// </summary>
    public double CompressedWriteFraction { get; init; } = 0.1;

    /// <summary>Share of data/zero writes placed at 512-byte granularity instead of cluster granularity.</summary>
    public double UnalignedWriteFraction { get; init; } = 0.3;

    /// <summary>Lower layers get smaller virtual sizes: the bottom is half the top, growing linearly.</summary>
    public bool ShorterBackingFiles { get; init; }

    /// <summary>True: backing names are bare file names relative to the folder; false: absolute paths.</summary>
    public bool RelativeBackingNames { get; init; } = true;

    /// <summary>The value for <c>-o compat=</c>.</summary>
    public string CompatOption => Compat == ChainCompat.V2 ? "0.10" : "1.1";

    /// <summary>Virtual size of layer <paramref name="index"/> (0 = bottom).</summary>
    public long LayerSize(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Layers);
        if (!ShorterBackingFiles || Layers == 1)
        {
            return VirtualSize;
        }

        var bottom = RoundUpToSector(VirtualSize / 2);
        return RoundUpToSector(bottom + ((VirtualSize - bottom) * index / (Layers - 1)));
    }

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        Require(Layers >= 1, $"{nameof(Layers)} must be at least 1");
        Require(VirtualSize > 0 && VirtualSize % 512 == 0, $"{nameof(VirtualSize)} must be a positive multiple of 512");
        Require(
            ClusterSize is >= MinClusterSize and <= MaxClusterSize && BitOperations.IsPow2(ClusterSize),
            $"{nameof(ClusterSize)} must be a power of two from 512 to 2 MiB");
        Require(WritesPerLayer >= 0, $"{nameof(WritesPerLayer)} must not be negative");
        Require(IsFraction(ZeroWriteFraction), $"{nameof(ZeroWriteFraction)} must be within [0, 1]");
        Require(IsFraction(CompressedWriteFraction), $"{nameof(CompressedWriteFraction)} must be within [0, 1]");
        Require(IsFraction(UnalignedWriteFraction), $"{nameof(UnalignedWriteFraction)} must be within [0, 1]");
        Require(
            ZeroWriteFraction + CompressedWriteFraction <= 1,
            $"{nameof(ZeroWriteFraction)} + {nameof(CompressedWriteFraction)} must not exceed 1");
        Require(Enum.IsDefined(Compat), $"{nameof(Compat)} has an unknown value");
    }

    private static long RoundUpToSector(long value) => (value + 511) / 512 * 512;

    private static bool IsFraction(double value) => value is >= 0 and <= 1;

    private void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid chain spec: {message} ({this})");
        }
    }
}
