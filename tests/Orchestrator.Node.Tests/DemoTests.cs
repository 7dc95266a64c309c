using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The README's first command, run as a new user would (small size): the live demo with its in-process node.</summary>
public sealed partial class DemoTests
{
    [Fact]
    public async Task Demo_streams_and_copies_while_the_guest_writes_and_verifies_every_byte()
    {
        using var folder = new TempDirectory("demo");
        var dir = Path.Combine(folder.Path, "run");
        var result = await Orchestrator.RunAsync(["demo", "--size", "128M", "--seed", "4242", "--dir", dir, "--keep"], folder.Path,
            timeout: TimeSpan.FromMinutes(5));
        var output = result.StdOut + result.StdErr;
        Assert.True(result.ExitCode == 0, $"demo failed (exit {result.ExitCode}):\n{output}");

        Assert.Contains("Chain before:          [A.qcow2] -> [B.qcow2] -> [C.qcow2] -> [D.qcow2]", output, StringComparison.Ordinal);
        Assert.Contains("After the stream:      [A.qcow2] -> [D.qcow2]", output, StringComparison.Ordinal);
        Assert.Contains("After the block copy:  [E.qcow2]", output, StringComparison.Ordinal);
        var writes = int.Parse(GuestWrites().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(writes > 0, $"the guest wrote nothing during the jobs:\n{output}");

        // Each job's line gives its length, the bytes it copied by its own count, the time and the throughput; the
        // guest's line its writes' latency.
        Assert.Matches(JobLine("After the stream:      [A.qcow2] -> [D.qcow2]"), output);
        Assert.Matches(JobLine("After the block copy:  [E.qcow2]"), output);
        Assert.Matches(GuestLatency(), output);
        Assert.Contains($"every byte of the 128.0 MiB disk matches (the chain's content and the guest's {writes} writes)", output, StringComparison.Ordinal);

        // What the summary says is what is on disk: E stands alone, D backs onto A, and qemu-img agrees.
        var images = Path.Combine(dir, "images");
        Assert.Equal(0, QemuTools.Check(Path.Combine(images, "E.qcow2")).ExitCode);
        Assert.DoesNotContain("backing-filename", QemuTools.InfoJson(Path.Combine(images, "E.qcow2"), backingChain: false), StringComparison.Ordinal);
        Assert.Contains("\"backing-filename\": \"A.qcow2\"", QemuTools.InfoJson(Path.Combine(images, "D.qcow2"), backingChain: false), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Guest: +(\d+) writes")]
    private static partial Regex GuestWrites();

    [GeneratedRegex(@"Guest: +\d+ writes \([0-9.]+ [KMG]?i?B\) during the jobs; latency p50 [0-9.]+ ms, p99 [0-9.]+ ms")]
    private static partial Regex GuestLatency();

    private static Regex JobLine(string chain) =>
        new($@"{Regex.Escape(chain)}   \(128\.0 MiB scanned, [0-9.]+ [KMG]?i?B copied in [0-9.]+ s, [0-9.]+ [KMG]?i?B/s\)");
}
