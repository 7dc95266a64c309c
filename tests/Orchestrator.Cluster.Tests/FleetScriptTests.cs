using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// The fleet on real processes (local-cluster.sh: PostgreSQL, n1..n3) through the CLI as operators' scripts use it:
/// a disk registered on n2 through n1 with --host n2, shown from n1 with n2's NBD export, streamed through n1, its
/// job watched from n3 with its host, its end in the job history of every node, the chain checked clean by qemu-img.
/// </summary>
[Collection(LocalClusterScript.Collection)]
public sealed class FleetScriptTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_disk_added_on_n2_through_n1_streams_there_and_n3_watches_its_job()
    {
        LocalClusterScript.AssertPortsFree();
        using var dir = new TempDirectory("fleet-script");
        try
        {
            await LocalClusterScript.RunAsync(output, "up", dir.Path);
            var seed = RandomChainBuilder.ChooseSeed();
            output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
            var images = Directory.CreateDirectory(Path.Combine(dir.Path, "n2", "images", "vm1")).FullName;
            var chain = new RandomChainBuilder(seed, output.WriteLine).Build(images, new ChainSpec { Layers = 3, VirtualSize = 16L * 1024 * 1024 });

            using (var added = await CliJsonAsync(dir, 8081, "disk", "add", "vm1", chain.Top, "--host", "n2"))
            {
                Assert.Equal(3, added.RootElement.GetProperty("chain").GetArrayLength());
            }

            using (var list = await CliJsonAsync(dir, 8083, "disk", "list"))
            {
                var vm1 = Assert.Single(list.RootElement.EnumerateArray());
                Assert.Equal("vm1", vm1.GetProperty("id").GetString());
                Assert.Equal("n2", vm1.GetProperty("host").GetString());
            }

            // disk show from a node that is not the host gives the host's NBD export, and qemu-io reads the disk there.
            using (var shown = await CliJsonAsync(dir, 8081, "disk", "show", "vm1"))
            {
                Assert.Equal("n2", shown.RootElement.GetProperty("host").GetString());
                var tcp = shown.RootElement.GetProperty("nbd").GetProperty("tcp").GetString();
                Assert.Equal("nbd://127.0.0.1:10812/vm1", tcp);
                var read = QemuTools.Io("-r", "-f", "raw", "-c", "read 0 64k", tcp!);
                Assert.True(read.ExitCode == 0, $"qemu-io read from {tcp}: {read.StdOut}{read.StdErr}");
            }

            // n3 follows the fleet's events from before the stream (the CLI, as an operator would): it sees s1's, which
            // happen on n2.
            using var follower = StartCli(dir, 8083, "events", "--fleet", "--follow", "--output", "json");
            var live = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var completed = new TaskCompletionSource();
            follower.OutputDataReceived += (_, line) =>
            {
                if (line.Data is { Length: > 0 } text)
                {
                    live.Enqueue(text);
                    if (text.Contains("BLOCK_JOB_COMPLETED", StringComparison.Ordinal))
                    {
                        completed.TrySetResult();
                    }
                }
            };
            follower.BeginOutputReadLine();

            // Rate-limited so that n3 may see it run; kept after it ends so that its end is seen too.
            await CliAsync(dir, 8081, "stream", "vm1", "--job-id", "s1", "--speed", "1M", "--no-auto-dismiss");
            var seen = new List<string>();
            var clock = Stopwatch.StartNew();
            while (true)
            {
                using var jobs = await CliJsonAsync(dir, 8083, "jobs");
                var s1 = Assert.Single(jobs.RootElement.EnumerateArray());
                Assert.Equal("n2", s1.GetProperty("host").GetString());
                var status = s1.GetProperty("status").GetString()!;
                if (seen.Count == 0 || seen[^1] != status)
                {
                    seen.Add(status);
                }

                if (status == "concluded")
                {
                    Assert.False(s1.TryGetProperty("error", out var error), $"the stream failed: {error}");
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"s1 did not conclude within 2 min; statuses seen from n3: {string.Join(", ", seen)}");
                await Task.Delay(250);
            }

            // Whether it was still running at the first look depends on the machine's load (each CLI call starts a process).
            output.WriteLine($"statuses seen from n3: {string.Join(", ", seen)}");
            using (var shown = await CliJsonAsync(dir, 8083, "disk", "show", "vm1"))
            {
                Assert.Equal(1, shown.RootElement.GetProperty("chain").GetArrayLength());
            }

            // The fleet's events, followed live from n3 and read again from n1, say where they happened; resuming after
            // the second event's id gives exactly the rest, no gap and no duplicate.
            if (await Task.WhenAny(completed.Task, Task.Delay(TimeSpan.FromSeconds(60))) != completed.Task)
            {
                Assert.Fail($"n3's followed fleet events did not bring BLOCK_JOB_COMPLETED within 60 s; they brought: {string.Join(" | ", live)}; "
                    + $"n3 has stored: {await CliAsync(dir, 8083, "events", "--fleet")}");
            }

            follower.Kill();
            Assert.Contains(live, l => l.Contains("JOB_STATUS_CHANGE", StringComparison.Ordinal) && l.Contains("\"created\"", StringComparison.Ordinal));
            Assert.All(live, l => Assert.Contains("\"host\":\"n2\"", l, StringComparison.Ordinal));
            using var n1Events = FleetEventsClient(dir, 8081);
            var stored = await ReadFleetEventsAsync(n1Events, "fleet/events?follow=false", "", until: null);
            Assert.Equal(live.Count, stored.Count(f => f.Data.Contains("\"host\":\"n2\"", StringComparison.Ordinal)));
            Assert.Equal(stored.Skip(2).Select(f => f.Id), (await ReadFleetEventsAsync(n1Events, "fleet/events?follow=false", stored[1].Id, until: null)).Select(f => f.Id));

            // The job history covers the fleet: n1 and n3 both list s1's end, on n2, read from n2's events in the journal.
            foreach (var port in new[] { 8081, 8083 })
            {
                using var all = await CliJsonAsync(dir, port, "jobs", "--all");
                var ended = Assert.Single(all.RootElement.GetProperty("finished").EnumerateArray(), j => j.GetProperty("id").GetString() == "s1");
                Assert.Equal(("n2", "completed"), (ended.GetProperty("host").GetString(), ended.GetProperty("outcome").GetString()));
                Assert.True(ended.GetProperty("started").ValueKind == JsonValueKind.String, $"s1's start is missing: {ended}");
            }

            var check = QemuTools.Check(chain.Top);
            Assert.True(check.ExitCode == 0, $"qemu-img check {chain.Top}: {check.StdOut}{check.StdErr}");

            // A snapshot sent to n1 is the host's to check: a path in n2's storage is taken, one in n3's only is refused by n2.
            var overlay = Path.Combine(images, "snap1.qcow2");
            using (var snapped = await CliJsonAsync(dir, 8081, "snapshot", "vm1", overlay))
            {
                Assert.Equal((overlay, "n2"), (snapped.RootElement.GetProperty("activePath").GetString(), snapped.RootElement.GetProperty("host").GetString()));
            }

            var elsewhere = Path.Combine(Directory.CreateDirectory(Path.Combine(dir.Path, "n3", "images")).FullName, "snap2.qcow2");
            var refused = await ProcessRunner.RunAsync("dotnet", [LocalClusterScript.OrchestratorDll, "snapshot", "vm1", elsewhere, "--server", "http://127.0.0.1:8083",
                "--token-file", dir.Combine("token")], dir.Path, TimeSpan.FromMinutes(1));
            output.WriteLine($"snapshot into n3's storage through n3: exit {refused.ExitCode}: {refused.StdErr.Trim()}");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("outside the storage roots", refused.StdErr, StringComparison.Ordinal);
            Assert.False(File.Exists(elsewhere), $"{elsewhere} was created");
            await LocalClusterScript.RunAsync(output, "down", dir.Path);
        }
        finally
        {
            await LocalClusterScript.DownAsync(dir.Path);
        }
    }

    /// <summary>The CLI against the node on <paramref name="port"/>, running in the background with its output redirected.</summary>
    private static Process StartCli(TempDirectory dir, int port, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { LocalClusterScript.OrchestratorDll }.Concat(args).Concat(["--server", $"http://127.0.0.1:{port}", "--token-file", dir.Combine("token")]))
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("the CLI did not start");
    }

    private static HttpClient FleetEventsClient(TempDirectory dir, int port)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(dir.Combine("token")).Trim());
        return client;
    }

    /// <summary>The Server-Sent Events of <paramref name="path"/> after <paramref name="after"/>, until one matches <paramref name="until"/> or the stream ends.</summary>
    private static async Task<List<FleetEvent>> ReadFleetEventsAsync(HttpClient client, string path, string after, Func<FleetEvent, bool>? until)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (after.Length > 0)
        {
            request.Headers.Add("Last-Event-ID", after);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<FleetEvent>();
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0 && id is not null)
            {
                var e = new FleetEvent(id, name!, data!);
                events.Add(e);
                (id, name, data) = (null, null, null);
                if (until?.Invoke(e) == true)
                {
                    break;
                }
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return events;
    }

    private sealed record FleetEvent(string Id, string Event, string Data);

    private async Task<JsonDocument> CliJsonAsync(TempDirectory dir, int port, params string[] args) =>
        JsonDocument.Parse(await CliAsync(dir, port, [.. args, "--output", "json"]));

    /// <summary>The CLI against the node on <paramref name="port"/>, with the cluster's token; fails with its error.</summary>
    private async Task<string> CliAsync(TempDirectory dir, int port, params string[] args)
    {
        var result = await ProcessRunner.RunAsync("dotnet",
            [LocalClusterScript.OrchestratorDll, .. args, "--server", $"http://127.0.0.1:{port}", "--token-file", dir.Combine("token")], dir.Path, TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0)
        {
            Assert.Fail($"orchestrator {string.Join(' ', args)} (port {port}) exited {result.ExitCode}: {result.StdErr}\n{LocalClusterScript.LogTails(dir.Path)}");
        }

        output.WriteLine($"orchestrator {string.Join(' ', args)} @ {port}: {result.StdOut.Trim()}");
        return result.StdOut;
    }
}
