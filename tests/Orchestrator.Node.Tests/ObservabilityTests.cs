using System.Net;
using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>Probes without the token, and the Prometheus scrape of a running stream, against a real node.</summary>
public sealed partial class ObservabilityTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Health_probes_answer_without_the_token_and_metrics_need_it()
    {
        using var anonymous = new HttpClient { BaseAddress = Node.Url };
        var live = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok", (await Json.BodyAsync(live)).GetProperty("status").GetString());

        // Ready once the engine has answered a sample: within a few seconds of start.
        HttpResponseMessage ready;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            ready = await anonymous.GetAsync("/readyz");
        }
        while (ready.StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (await Json.BodyAsync(ready)).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/disks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Node.Http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Two_scrapes_during_a_stream_show_bytes_copied_growing_with_the_speed_limit()
    {
        var (@base, top) = SlowChain.Create(Node.StorageRoot, "metrics");
        (await Node.CliAsync("disk", "add", "metrics", top)).EnsureSuccess();

        // 48 MiB to copy at 1 MiB/s: long enough for two scrapes a few seconds apart.
        (await Node.CliAsync("stream", "metrics", "--base", Path.GetFileName(@base), "--speed", "1M")).EnsureSuccess();
        var first = await OffsetWhenPresentAsync();
        var firstCopied = Gauge(await Node.Http.GetStringAsync("/metrics"), "orchestrator_job_copied_bytes", "metrics");

        // Guest I/O through the node's NBD socket meanwhile (qemu-io, as a guest's block driver would).
        var socket = Path.Combine(Node.DataDirectory, NodePaths.NbdSocketFile);
        QemuTools.Io("-f", "raw", "-c", "write -P 0x5a 56M 1M", "-c", "read -P 0x5a 56M 1M", "-c", "flush", $"nbd+unix:///metrics?socket={socket}")
            .EnsureSuccess();
        await Task.Delay(TimeSpan.FromSeconds(3));
        var text = await Node.Http.GetStringAsync("/metrics");
        var second = Gauge(text, "orchestrator_job_offset_bytes", "metrics");
        Assert.True(second > first, $"the offset did not grow between scrapes: {first} then {second}\n{text}");
        var secondCopied = Gauge(text, "orchestrator_job_copied_bytes", "metrics");
        Assert.True(secondCopied > firstCopied, $"bytes copied did not grow between scrapes: {firstCopied} then {secondCopied}\n{text}");

        // The guest's requests: counted with their bytes, and the latency histogram has their samples.
        Assert.True(Sample(text, "orchestrator_guest_latency_seconds_count", "metrics", "write") >= 1, text);
        Assert.True(Sample(text, "orchestrator_guest_latency_seconds_count", "metrics", "read") >= 1, text);
        Assert.True(Sample(text, "orchestrator_guest_latency_seconds_bucket", "metrics", "write", "le=\"+Inf\"") >= 1, text);
        Assert.True(Sample(text, "orchestrator_guest_bytes_total", "metrics", "write") >= 1024 * 1024, text);
        Assert.True(Sample(text, "orchestrator_guest_operations_total", "metrics", "flush") >= 1, text);
        Assert.Equal(1024L * 1024, Gauge(text, "orchestrator_job_speed_limit_bytes_per_second", "metrics"));
        Assert.Equal(64L * 1024 * 1024, Gauge(text, "orchestrator_job_length_bytes", "metrics"));
        Assert.Matches(StateLine(), text);

        (await Node.CliAsync("job", "cancel", "metrics")).EnsureSuccess();
    }

    [Fact]
    public async Task Errors_the_api_answers_are_counted_by_kind()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Node.Http.GetAsync("/disks/no-such-disk")).StatusCode);
        var text = await Node.Http.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("orchestrator_errors_total{", StringComparison.Ordinal)
            && l.Contains("kind=\"api-not-found\"", StringComparison.Ordinal));
        Assert.True(line is not null, $"no api-not-found error counted:\n{text}");
        Assert.True(double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) >= 1, line);
    }

    [Fact]
    public async Task Json_log_format_writes_one_json_object_per_line_akka_included_without_a_second_prefix()
    {
        using var folder = new global::Orchestrator.Testing.TempDirectory("json-logs");
        var node = await NodeProcess.StartAsync(folder.Path, "--log-format", "json");
        try
        {
            var (_, top) = SlowChain.Create(node.StorageRoot, "logs");
            (await node.CliAsync("disk", "add", "logs", top)).EnsureSuccess();
        }
        finally
        {
            // Stopping the node flushes its last lines (Akka's coordinated shutdown among them).
            await node.DisposeAsync();
        }

        var lines = node.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var categories = new List<string>();
        foreach (var line in lines)
        {
            var entry = Json.Parse(line);
            categories.Add(entry.GetProperty("Category").GetString()!);
            Assert.DoesNotContain("[INFO]", entry.GetProperty("Message").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains(categories, c => c.StartsWith("Akka.", StringComparison.Ordinal));

        // Logged after Akka's logger actors stop (through its stdout logger): kept, and as JSON like the rest.
        Assert.Contains(lines, l => l.Contains("Remoting shut down", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_may_be_open_and_count_checkpoints_and_text_logs_carry_no_akka_prefix()
    {
        using var folder = new global::Orchestrator.Testing.TempDirectory("open-metrics");
        var node = await NodeProcess.StartAsync(folder.Path, "--metrics-need-token", "false", "--checkpoint-size", "1M");
        try
        {
            // 48 MiB to copy with a checkpoint after every 1 MiB (or every batch, when a batch is larger).
            var (@base, top) = SlowChain.Create(node.StorageRoot, "ckpt");
            (await node.CliAsync("disk", "add", "ckpt", top)).EnsureSuccess();
            (await node.CliAsync("stream", "ckpt", "--base", Path.GetFileName(@base), "--wait")).EnsureSuccess();

            using var anonymous = new HttpClient { BaseAddress = node.Url };
            var scrape = await anonymous.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/disks")).StatusCode);
            var text = await scrape.Content.ReadAsStringAsync();
            var checkpoints = Gauge(text, "orchestrator_job_checkpoints_total", "ckpt");
            Assert.True(checkpoints >= 2, $"a 48 MiB stream with 1 MiB checkpoints counted {checkpoints} checkpoints:\n{text}");
        }
        finally
        {
            await node.DisposeAsync();
        }

        // Text logs: Akka's lines come through the node's logger, without Akka's own "[INFO][date][thread]" prefix.
        var output = node.Output;
        Assert.Contains("Akka.", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(AkkaPrefix(), output);
    }

    [GeneratedRegex(@"\[(DEBUG|INFO|WARNING|ERROR)\]\[")]
    private static partial Regex AkkaPrefix();

    private async Task<long> OffsetWhenPresentAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var text = await Node.Http.GetStringAsync("/metrics");
            if (text.Contains("job=\"metrics\"", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return Gauge(text, "orchestrator_job_offset_bytes", "metrics");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The value of a gauge's sample for one job, from the Prometheus text format.</summary>
    private static long Gauge(string scrape, string name, string job)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains($"job=\"{job}\"", StringComparison.Ordinal))
            {
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"no sample of {name} for job '{job}' in the scrape:\n{scrape}");
    }

    /// <summary>A guest metric's sample for one disk and operation (plus any other label text the line must hold).</summary>
    private static double Sample(string scrape, string name, string disk, string operation, string extra = "")
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains($"disk=\"{disk}\"", StringComparison.Ordinal)
                && line.Contains($"operation=\"{operation}\"", StringComparison.Ordinal) && line.Contains(extra, StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"no sample of {name} for disk '{disk}', operation '{operation}' in the scrape:\n{scrape}");
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(200);
        return true;
    }

    [GeneratedRegex("orchestrator_job_state\\{[^}]*job=\"metrics\"[^}]*status=\"(running|ready|created)\"[^}]*\\} 1")]
    private static partial Regex StateLine();
}
