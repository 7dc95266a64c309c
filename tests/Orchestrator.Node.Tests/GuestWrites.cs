using System.Globalization;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>One guest write: <see cref="Length"/> bytes of <see cref="Pattern"/> at <see cref="Offset"/>.</summary>
internal sealed record GuestWrite(long Offset, int Length, byte Pattern)
{
    public string QemuIoCommand => string.Create(CultureInfo.InvariantCulture, $"write -P {Pattern} {Offset} {Length}");

    public string ReadBackCommand => string.Create(CultureInfo.InvariantCulture, $"read -P {Pattern} {Offset} {Length}");

    public void ApplyTo(byte[] content) => content.AsSpan((int)Offset, Length).Fill(Pattern);
}

/// <summary>
/// A guest that writes through a disk's NBD export with qemu-io, one process per flush group: the writes of a group,
/// then a flush. A group whose qemu-io exits 0 without a failed command had its flush acknowledged.
/// </summary>
internal sealed class NbdGuest(string uri, long size, Random rng)
{
    /// <summary>Random writes of <paramref name="count"/>, 512-byte aligned, 512 B to <paramref name="maxLength"/>, patterns 1..255.</summary>
    public List<GuestWrite> RandomWrites(int count, int maxLength)
    {
        var writes = new List<GuestWrite>();
        for (var i = 0; i < count; i++)
        {
            var length = rng.Next(1, (maxLength / 512) + 1) * 512;
            var offset = rng.NextInt64(0, (size - length) / 512 + 1) * 512;
            writes.Add(new GuestWrite(offset, length, (byte)rng.Next(1, 256)));
        }

        return writes;
    }

    /// <summary>Whole-cluster writes to <paramref name="count"/> random clusters (a cluster reads as old or new after a crash, never torn).</summary>
    public List<GuestWrite> ClusterWrites(int count, int clusterSize)
    {
        var clusters = (int)(size / clusterSize);
        return [.. Enumerable.Range(0, count).Select(_ => new GuestWrite((long)rng.Next(0, clusters) * clusterSize, clusterSize, (byte)rng.Next(1, 256)))];
    }

    /// <summary>Runs the writes and a flush in one qemu-io; true when every one of them, the flush included, succeeded.</summary>
    public async Task<(bool Flushed, ProcessResult Result)> WriteAndFlushAsync(IReadOnlyList<GuestWrite> writes, CancellationToken cancel = default)
    {
        var args = new List<string> { "-f", "raw" };
        foreach (var write in writes)
        {
            args.AddRange(["-c", write.QemuIoCommand]);
        }

        args.AddRange(["-c", "flush", uri]);
        var result = await ProcessRunner.RunAsync(QemuTools.QemuIo, args, timeout: TimeSpan.FromSeconds(60), cancellationToken: cancel);
        return (Succeeded(result), result);
    }

    /// <summary>qemu-io's exit status does not cover every failure (a failed pattern check is only printed): read both.</summary>
    public static bool Succeeded(ProcessResult result) =>
        result.ExitCode == 0 && !result.StdOut.Contains("failed", StringComparison.Ordinal) && !result.StdErr.Contains("failed", StringComparison.Ordinal);
}
