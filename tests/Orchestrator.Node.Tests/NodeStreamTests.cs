using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>Block jobs driven through the CLI against a real node: stream --wait, then the chain on disk as qemu-img reads it.</summary>
public sealed class NodeStreamTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Stream_with_wait_completes_and_qemu_img_shows_top_backed_by_base()
    {
        var (@base, _, top) = Chains.Create(Node.StorageRoot, "st");
        var guestBefore = Node.Image("st-guest-before.raw");
        QemuTools.ConvertToRaw(top, guestBefore);
        (await Node.CliAsync("disk", "add", "st", top)).EnsureSuccess();

        var stream = await Node.CliAsync("stream", "st", "--base", Path.GetFileName(@base), "--wait");
        Assert.True(stream.ExitCode == 0, $"stream --wait failed:\n{stream.StdErr}\n{stream.StdOut}\nnode:\n{Node.Output}");
        Assert.Contains("Job 'st' completed", stream.StdOut, StringComparison.Ordinal);
        Assert.Contains("[st-base.qcow2] -> [st-top.qcow2]", stream.StdOut, StringComparison.Ordinal);

        var chain = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: true)).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, chain.Count);
        Assert.Equal("st-base.qcow2", chain[0].GetProperty("backing-filename").GetString());
        Assert.Equal(@base, Path.GetFullPath(chain[1].GetProperty("filename").GetString()!, Node.StorageRoot));
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
        Assert.Equal(0, QemuTools.Compare(top, guestBefore, fmtB: "raw").ExitCode);

        var show = Json.Parse((await Node.CliAsync("disk", "show", "st", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal(2, show.GetProperty("chain").GetArrayLength());

        // The events the wait followed are there for anyone, with QMP's names and fields.
        var events = (await Node.CliAsync("events", "--output", "json")).EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Json.Parse).ToList();
        var completed = events.Last(e => e.GetProperty("event").GetString() == "BLOCK_JOB_COMPLETED" && e.GetProperty("data").GetProperty("device").GetString() == "st");
        var data = completed.GetProperty("data");
        Assert.Equal("stream", data.GetProperty("type").GetString());
        Assert.Equal(data.GetProperty("len").GetInt64(), data.GetProperty("offset").GetInt64());
        Assert.False(data.TryGetProperty("error", out _));
        Assert.Contains(events, e => e.GetProperty("event").GetString() == "JOB_STATUS_CHANGE" && e.GetProperty("data").GetProperty("id").GetString() == "st"
            && e.GetProperty("data").GetProperty("status").GetString() == "concluded");
    }

    [Fact]
    public async Task Stream_without_auto_dismiss_stays_queryable_until_dismissed()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "keep");
        (await Node.CliAsync("disk", "add", "keep", top)).EnsureSuccess();
        var started = Json.Parse((await Node.CliAsync("stream", "keep", "--job-id", "keep-job", "--no-auto-dismiss", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal("keep-job", started.GetProperty("device").GetString());
        Assert.Equal("keep", started.GetProperty("disk").GetString());
        Assert.False(started.GetProperty("auto-dismiss").GetBoolean());

        JsonElement job = default;
        for (var i = 0; i < 300; i++)
        {
            job = Json.Parse((await Node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut)
                .EnumerateArray().Single(j => j.GetProperty("device").GetString() == "keep-job");
            if (job.GetProperty("status").GetString() == "concluded")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("concluded", job.GetProperty("status").GetString());
        var human = (await Node.CliAsync("jobs")).EnsureSuccess().StdOut;
        Assert.Contains($"Type stream, device keep-job: Completed {job.GetProperty("len").GetInt64()} of {job.GetProperty("len").GetInt64()} bytes, speed limit 0 bytes/s", human, StringComparison.Ordinal);

        (await Node.CliAsync("job", "dismiss", "keep-job")).EnsureSuccess();
        var after = Json.Parse((await Node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut);
        Assert.DoesNotContain(after.EnumerateArray(), j => j.GetProperty("device").GetString() == "keep-job");
    }

    [Fact]
    public async Task Pause_resume_and_cancel_while_a_client_waits_and_the_wait_reports_the_cancel()
    {
        // 256 MiB of data at 8 MiB/s: long enough to act on the job midway.
        var @base = Node.Image("slow-base.qcow2");
        var top = Node.Image("slow-top.qcow2");
        QemuTools.Create(@base, 1024L * 1024 * 1024);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x41 0 256M", @base).EnsureSuccess();
        QemuTools.Create(top, 1024L * 1024 * 1024, backing: "slow-base.qcow2", workingDirectory: Node.StorageRoot);
        (await Node.CliAsync("disk", "add", "slow", top)).EnsureSuccess();

        var waiting = Node.CliAsync("stream", "slow", "--speed", "8M", "--wait");
        var job = await Node.WaitForJobAsync("slow", j => j.GetProperty("offset").GetInt64() > 0);
        Assert.Equal(8L * 1024 * 1024, job.GetProperty("speed").GetInt64());

        var paused = Json.Parse((await Node.CliAsync("job", "pause", "slow", "--output", "json")).EnsureSuccess().StdOut);
        Assert.True(paused.GetProperty("paused").GetBoolean());
        var again = await Node.CliAsync("job", "pause", "slow");
        Assert.Equal(1, again.ExitCode);

        (await Node.CliAsync("job", "resume", "slow")).EnsureSuccess();
        var faster = Json.Parse((await Node.CliAsync("job", "set-speed", "slow", "16M", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal(16L * 1024 * 1024, faster.GetProperty("speed").GetInt64());
        var negative = await Node.CliAsync("job", "set-speed", "slow", "-1");
        Assert.Equal(1, negative.ExitCode);
        Assert.Contains("'speed'", negative.StdErr, StringComparison.Ordinal);

        var busy = await Node.CliAsync("disk", "remove", "slow");
        Assert.Equal(1, busy.ExitCode);

        (await Node.CliAsync("job", "cancel", "slow")).EnsureSuccess();
        var result = await waiting;
        Assert.True(result.ExitCode == 1, $"expected exit 1 after cancel, got {result.ExitCode}:\n{result.StdErr}\n{result.StdOut}");
        Assert.Contains("job 'slow' was cancelled", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("completed", result.StdOut, StringComparison.Ordinal);

        // Cancel leaves the header untouched: top still backs onto base.
        var info = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: false)).RootElement;
        Assert.Equal("slow-base.qcow2", info.GetProperty("backing-filename").GetString());
    }

    [Fact]
    public async Task Over_http_a_base_named_by_its_file_name_is_found_in_the_chain()
    {
        var (_, mid, top) = Chains.Create(Node.StorageRoot, "byname");
        (await Node.CliAsync("disk", "add", "byname", top)).EnsureSuccess();
        using var bad = await Json.PostAsync(Node.Http, "disks/byname/stream", new { @base = "not-in-the-chain.qcow2" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);

        using var response = await Json.PostAsync(Node.Http, "disks/byname/stream", new { @base = "byname-base.qcow2", jobId = "byname-job" });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        Assert.True(response.Headers.Contains("Orchestrator-Event-Sequence"));
        var job = await Json.BodyAsync(response);
        Assert.Equal("byname-job", job.GetProperty("device").GetString());
        Assert.Equal("stream", job.GetProperty("type").GetString());

        await WaitForChainAsync("byname", 2);
        var info = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: false)).RootElement;
        Assert.Equal("byname-base.qcow2", info.GetProperty("backing-filename").GetString());
        Assert.True(File.Exists(mid), "the images streamed past stay on disk");
    }

    private async Task WaitForChainAsync(string disk, int length)
    {
        for (var i = 0; i < 600; i++)
        {
            using var response = await Node.Http.GetAsync($"disks/{disk}");
            if ((await Json.BodyAsync(response)).GetProperty("chain").GetArrayLength() == length)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"disk '{disk}' did not reach a chain of {length} images\n{Node.Output}");
    }
}
