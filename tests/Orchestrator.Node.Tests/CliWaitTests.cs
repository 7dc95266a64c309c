using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// stream --wait as virsh's blockpull --wait behaves, against a real node: --timeout cancels the job when it passes,
/// Ctrl+C (SIGINT to the CLI process) cancels it, and --detach leaves it running. `jobs` shows the percent and the state.
/// </summary>
public sealed class CliWaitTests(NodeFixture fixture, ITestOutputHelper output) : IClassFixture<NodeFixture>
{
    private static readonly ExternalTool _script = new("script", "bsdutils");

    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Wait_with_timeout_cancels_the_job_when_it_passes()
    {
        var top = SlowChain("tmo");
        var clock = Stopwatch.StartNew();
        var result = await Node.CliAsync("stream", "tmo", "--speed", "2M", "--wait", "--timeout", "2");
        output.WriteLine($"exit {result.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s: {result.StdErr}");

        Assert.True(result.ExitCode == 1, $"expected exit 1, got {result.ExitCode}:\n{result.StdErr}\n{result.StdOut}\nnode:\n{Node.Output}");
        Assert.Contains("--timeout 2 s passed: job 'tmo' cancelled", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("completed", result.StdOut, StringComparison.Ordinal);
        await AssertCancelledAsync("tmo", top);
    }

    [Fact]
    public async Task Ctrl_c_during_wait_cancels_the_job()
    {
        var top = SlowChain("sigint");
        var (exitCode, stderr) = await InterruptWaitAsync("sigint");
        Assert.True(exitCode == 130, $"expected exit 130 after SIGINT, got {exitCode}:\n{stderr}\nnode:\n{Node.Output}");
        Assert.Contains("interrupted: job 'sigint' cancelled", stderr, StringComparison.Ordinal);
        await AssertCancelledAsync("sigint", top);
    }

    [Fact]
    public async Task Ctrl_c_with_detach_leaves_the_job_running_and_jobs_shows_percent_and_state()
    {
        var top = SlowChain("detach");
        var (exitCode, stderr) = await InterruptWaitAsync("detach", "--detach");
        Assert.True(exitCode == 130, $"expected exit 130 after SIGINT, got {exitCode}:\n{stderr}\nnode:\n{Node.Output}");
        Assert.Contains("stopped waiting (interrupted); job 'detach' goes on", stderr, StringComparison.Ordinal);

        var job = await JobAsync("detach");
        Assert.Equal("running", job.GetProperty("status").GetString());
        var before = job.GetProperty("offset").GetInt64();
        // The detached job goes on copying (polled: a loaded machine may take a while to show it).
        await Node.WaitForJobAsync("detach", j => j.GetProperty("offset").GetInt64() > before);

        (await Node.CliAsync("job", "pause", "detach")).EnsureSuccess();
        var paused = await Node.WaitForJobAsync("detach", j => j.GetProperty("status").GetString() == "paused");
        var jobs = (await Node.CliAsync("jobs")).EnsureSuccess().StdOut;
        output.WriteLine(jobs);
        var line = jobs.Split('\n').Single(l => l.Contains("device detach:", StringComparison.Ordinal));
        var percent = Math.Floor(paused.GetProperty("offset").GetInt64() * 1000.0 / paused.GetProperty("len").GetInt64()) / 10;
        Assert.EndsWith(string.Create(CultureInfo.InvariantCulture, $"[{percent:0.0} %, paused]"), line.TrimEnd());

        (await Node.CliAsync("job", "cancel", "detach")).EnsureSuccess();
        await WaitForGoneAsync("detach");
        Assert.Equal(3, (await DiskAsync("detach")).GetProperty("chain").GetArrayLength());
    }

    [Fact]
    public async Task The_wait_bar_on_a_terminal_counts_bytes_copied_and_shows_the_speed_limit()
    {
        // The top already holds the first 40 MiB of the 48 its backing file has: the scan passes them without
        // copying, so the percent (address space scanned) runs far ahead of the bytes copied at 1 MiB/s.
        var (_, top) = global::Orchestrator.Node.Tests.SlowChain.Create(Node.StorageRoot, "bar");
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x31 0 40M", top).EnsureSuccess();
        (await Node.CliAsync("disk", "add", "bar", top)).EnsureSuccess();

        // The bar is drawn only when stderr is a terminal: script(1) (Debian package bsdutils) gives the CLI one.
        string[] cli = [Orchestrator.Dotnet, Orchestrator.Dll, "stream", "bar", "--speed", "1M", "--wait", "--timeout", "4", "--data", Node.DataDirectory];
        var command = string.Join(' ', cli.Select(a => $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'"));
        var result = await ProcessRunner.RunAsync(_script.Path, ["-qec", command, "/dev/null"], Node.StorageRoot, TimeSpan.FromMinutes(1),
            Orchestrator.CleanEnvironment(Node.Root));

        // Frames drawn over one another with \r; each gives the percent, the bytes copied, their rate and the limit.
        const string label = "Block Stream: [";
        var frames = result.StdOut.Split('\r', '\n').Where(f => f.Contains(label, StringComparison.Ordinal))
            .Select(f => f[f.IndexOf(label, StringComparison.Ordinal)..]).ToList();
        output.WriteLine(string.Join('\n', frames));
        Assert.True(frames.Count >= 2, $"expected a bar redrawn while the job ran, got:\n{result.StdOut}");
        Assert.All(frames, f => Assert.Matches(@"\] +\d+\.\d % +[0-9.]+ (B|KiB|MiB) copied +[0-9.]+ (B|KiB|MiB)/s \(limit 1\.0 MiB/s\)", f));
        var last = frames[^1];
        var percent = double.Parse(Regex.Match(last, @"(\d+\.\d) %").Groups[1].Value, CultureInfo.InvariantCulture);
        var copied = Bytes(Regex.Match(last, @"([0-9.]+ (B|KiB|MiB)) copied").Groups[1].Value);
        Assert.True(copied > 0, $"the bar counted no bytes copied:\n{last}");
        Assert.True(percent >= 60 && copied <= 8 * 1024 * 1024,
            $"the bar should count the bytes copied (at most the 8 MiB the top lacked), not the {percent} % scanned:\n{last}");
        Assert.Contains("--timeout 4 s passed: job 'bar' cancelled", result.StdOut, StringComparison.Ordinal);
        await WaitForGoneAsync("bar");
    }

    private static double Bytes(string human)
    {
        var parts = human.Split(' ');
        var value = double.Parse(parts[0], CultureInfo.InvariantCulture);
        return parts[1] switch { "KiB" => value * 1024, "MiB" => value * 1024 * 1024, _ => value };
    }

    /// <summary>base (48 MiB of data) &lt;- mid &lt;- top: at 2 MiB/s a stream with no base takes about 24 s.</summary>
    private string SlowChain(string prefix)
    {
        var (_, mid, top) = Chains.Create(Node.StorageRoot, prefix);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x51 12M 36M", mid).EnsureSuccess();
        Node.CliAsync("disk", "add", prefix, top).GetAwaiter().GetResult().EnsureSuccess();
        return top;
    }

    /// <summary>`stream DISK --speed 2M --wait [extra]` as a child process, sent SIGINT once the job has copied something.</summary>
    private async Task<(int ExitCode, string StdErr)> InterruptWaitAsync(string disk, params string[] extra)
    {
        var startInfo = new ProcessStartInfo(Orchestrator.Dotnet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Node.StorageRoot,
        };
        foreach (var arg in new[] { Orchestrator.Dll, "stream", disk, "--speed", "2M", "--wait", "--data", Node.DataDirectory }.Concat(extra))
        {
            startInfo.ArgumentList.Add(arg);
        }

        Orchestrator.UseCleanEnvironment(startInfo, Node.Root);

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start the CLI");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            await Node.WaitForJobAsync(disk, j => j.GetProperty("offset").GetInt64() > 0);
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(wait.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await stdout;
        lock (stderr)
        {
            output.WriteLine($"exit {process.ExitCode}: {stderr}");
            return (process.ExitCode, stderr.ToString());
        }
    }

    /// <summary>The job is gone (cancelled and auto-dismissed) and the chain is as it was: top -> mid -> base.</summary>
    private async Task AssertCancelledAsync(string disk, string top)
    {
        await WaitForGoneAsync(disk);
        Assert.Equal(3, (await DiskAsync(disk)).GetProperty("chain").GetArrayLength());
        var info = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: false)).RootElement;
        Assert.Equal($"{disk}-mid.qcow2", info.GetProperty("backing-filename").GetString());
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    private async Task<JsonElement> DiskAsync(string disk)
    {
        using var response = await Node.Http.GetAsync($"disks/{disk}");
        return await Json.BodyAsync(response);
    }

    private async Task<JsonElement> JobAsync(string id)
    {
        using var response = await Node.Http.GetAsync($"jobs/{id}");
        Assert.True(response.IsSuccessStatusCode, $"GET /jobs/{id}: {(int)response.StatusCode}\n{Node.Output}");
        return await Json.BodyAsync(response);
    }

    private async Task WaitForGoneAsync(string id)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var response = await Node.Http.GetAsync($"jobs/{id}");
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"job '{id}' was still listed after 60 s\n{Node.Output}");
    }
}
