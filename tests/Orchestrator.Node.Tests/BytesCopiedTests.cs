using System.Globalization;
using Orchestrator.ImageCommands.Output;
using Orchestrator.Qcow2.Stream;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A job counts the bytes it copied, not the address space it scanned: over a chain whose top already holds most of the
/// data, bytes-copied stays below the offset and ends equal to the data the top gained (qemu-img map before and after).
/// The progress bar shows that count, its throughput and the speed limit.
/// </summary>
public sealed class BytesCopiedTests(NodeFixture fixture, ITestOutputHelper output) : IClassFixture<NodeFixture>
{
    private const long MiB = 1024 * 1024;

    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task A_stream_over_a_mostly_copied_top_counts_only_the_clusters_the_top_lacked()
    {
        // base <- mid (48 MiB of data) <- top (the first 40 MiB of it already): 8 MiB to copy, 64 MiB to scan.
        var (@base, top) = SlowChain.Create(Node.StorageRoot, "copied");
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x31 0 40M", top).EnsureSuccess();
        var before = TopDataBytes(top);
        (await Node.CliAsync("disk", "add", "copied", top)).EnsureSuccess();

        (await Node.CliAsync("stream", "copied", "--base", Path.GetFileName(@base), "--speed", "2M", "--no-auto-dismiss")).EnsureSuccess();

        // While it copies at 2 MiB/s, the scan is past the 40 MiB the top held and the count is still below 8 MiB.
        var running = await Node.WaitForJobAsync("copied", j => j.GetProperty("offset").GetInt64() > 40 * MiB
            || j.GetProperty("status").GetString() == "concluded");
        output.WriteLine($"running: {running}");
        Assert.True(running.GetProperty("bytes-copied").GetInt64() < running.GetProperty("offset").GetInt64(),
            $"bytes-copied is not below the offset scanned: {running}");

        var done = await Node.WaitForJobAsync("copied", j => j.GetProperty("status").GetString() == "concluded");
        output.WriteLine($"concluded: {done}");
        Assert.False(done.TryGetProperty("error", out _), $"the stream failed: {done}");
        Assert.Equal(SlowChain.Size, done.GetProperty("offset").GetInt64());
        var copied = done.GetProperty("bytes-copied").GetInt64();
        var gained = TopDataBytes(top) - before;
        Assert.Equal(8 * MiB, gained);
        Assert.Equal(gained, copied);

        // `jobs --output json` carries the same field.
        var jobs = Json.Parse((await Node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Contains(jobs.EnumerateArray(), j => j.GetProperty("device").GetString() == "copied" && j.GetProperty("bytes-copied").GetInt64() == copied);

        // The bar draws what the job reports: bytes copied (not the offset) and the limit.
        using var line = new StringWriter(CultureInfo.InvariantCulture);
        var bar = new ProgressBar("Streaming", line) { SpeedLimit = 2 * MiB };
        bar.Report(new StreamProgress(48 * MiB, SlowChain.Size, copied / 2));
        output.WriteLine(line.ToString());
        Assert.Contains("4.0 MiB copied", line.ToString(), StringComparison.Ordinal);
        Assert.Contains("(limit 2.0 MiB/s)", line.ToString(), StringComparison.Ordinal);
        Assert.Contains(" 75.0 %", line.ToString(), StringComparison.Ordinal);

        (await Node.CliAsync("job", "dismiss", "copied")).EnsureSuccess();
    }

    /// <summary>Bytes of data the top image itself holds (depth 0 in qemu-img map).</summary>
    private static long TopDataBytes(string top) =>
        JsonMap.Parse(QemuTools.Map(top)).Where(e => e.Depth == 0 && e.Data).Sum(e => e.Length);
}
