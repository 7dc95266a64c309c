using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Inputs that once disabled a node (issue 9): each is refused at the door, never reaches the journal, and the node goes
/// on serving its other disks, across a restart too.
/// </summary>
public sealed class PoisonInputTests : IAsyncLifetime
{
    private readonly TempDirectory _folder = new("poison");
    private NodeProcess _node = null!;

    public async Task InitializeAsync()
    {
        _node = await NodeProcess.StartAsync(_folder.Path);
        var (_, _, top) = Chains.Create(_node.StorageRoot, "keep");
        await RegisterAsync("keep", top);
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task An_id_with_a_newline_is_refused_before_and_after_a_restart_and_the_node_serves_its_disks()
    {
        var (_, _, top) = Chains.Create(_node.StorageRoot, "nl");
        await ExpectRefusedAsync("disks", $$"""{"id":"nl\n","path":"{{top}}"}""", "'id'");
        await ExpectRefusedAsync("disks/keep/stream", """{"jobId":"job\n"}""", "'jobId'");
        await ExpectRefusedAsync("disks/keep/block-copy", $$"""{"destination":"{{_node.Image("nl-copy.qcow2")}}","job-id":"job\n"}""", "'jobId'");
        using (var url = await _node.Http.PostAsync("jobs/job%0A/cancel", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, url.StatusCode);
        }

        await NodeHealth.AssertServesAsync(_node, "keep");

        // A restart replays the journal: nothing of the refused requests is in it, and recovery serves the disk again.
        await _node.DisposeAsync();
        _node = await NodeProcess.StartAsync(_folder.Path);
        Assert.DoesNotContain("Illegal actor name", _node.Output, StringComparison.Ordinal);
        await ExpectRefusedAsync("disks", $$"""{"id":"nl\n","path":"{{top}}"}""", "'id'");
        await NodeHealth.AssertServesAsync(_node, "keep");

        using var list = await _node.Http.GetAsync("disks");
        var ids = (await Json.BodyAsync(list)).EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal(["keep"], ids);

        // And a well-formed registration of the same image works at once.
        await RegisterAsync("nl", top);
        await NodeHealth.AssertServesAsync(_node, "nl");
    }

    [Fact]
    public async Task Speed_2_63_minus_1_is_refused_and_the_node_serves_its_disks()
    {
        var (_, _, top) = Chains.Create(_node.StorageRoot, "fast");
        await RegisterAsync("fast", top);
        await ExpectRefusedAsync("disks/fast/stream", $$"""{"speed":{{long.MaxValue}}}""", "'speed'");
        await ExpectRefusedAsync("disks/fast/block-copy", $$"""{"destination":"{{_node.Image("fast-copy.qcow2")}}","speed":{{long.MaxValue}}}""", "'speed'");

        // A job at a representable speed can be set neither beyond the cap.
        using (var start = await Json.PostAsync(_node.Http, "disks/fast/stream", """{"job-id":"fast-job","speed":1048576,"auto-dismiss":false}"""))
        {
            Assert.True(start.StatusCode == HttpStatusCode.Created, await start.Content.ReadAsStringAsync());
        }

        await ExpectRefusedAsync("jobs/fast-job/set-speed", $$"""{"speed":{{long.MaxValue}}}""", "'speed'");
        using (var ok = await Json.PostAsync(_node.Http, "jobs/fast-job/set-speed", "{\"speed\":0}"))
        {
            Assert.True(ok.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, await ok.Content.ReadAsStringAsync());
        }

        var job = await JobPolling.WaitForStatusAsync(_node, "fast-job", "concluded", TimeSpan.FromSeconds(120));
        Assert.False(job.TryGetProperty("error", out _), job.ToString());
        Assert.Equal(Chains.Size, job.GetProperty("offset").GetInt64());
        await NodeHealth.AssertServesAsync(_node, "keep");
        await NodeHealth.AssertServesAsync(_node, "fast");
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    [Fact]
    public async Task Unknown_fields_start_nothing_and_the_node_serves_its_disks()
    {
        var (_, _, top) = Chains.Create(_node.StorageRoot, "typo");
        await ExpectRefusedAsync("disks", $$"""{"id":"typo","path":"{{top}}","readonly":true}""", "unknown field 'readonly'");
        await RegisterAsync("typo", top);
        await ExpectRefusedAsync("disks/typo/stream", """{"job_id":"named"}""", "unknown field 'job_id'");
        await ExpectRefusedAsync("disks/typo/snapshot", $$"""{"path":"{{_node.Image("typo-s.qcow2")}}","mode":"existing"}""", "unknown field 'mode'");

        using (var jobs = await _node.Http.GetAsync("jobs"))
        {
            Assert.Equal(0, (await Json.BodyAsync(jobs)).GetArrayLength());
        }

        Assert.False(File.Exists(_node.Image("typo-s.qcow2")));
        await NodeHealth.AssertServesAsync(_node, "keep");
        await NodeHealth.AssertServesAsync(_node, "typo");
    }

    private async Task RegisterAsync(string id, string path)
    {
        using var response = await Json.PostAsync(_node.Http, "disks", new { id, path });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"register {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task ExpectRefusedAsync(string path, string body, string mentions)
    {
        using var response = await Json.PostAsync(_node.Http, path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"POST /{path}: expected 400, got {(int)response.StatusCode} {text}");
        Assert.Contains(mentions, (await Json.ErrorAsync(response)).Message, StringComparison.Ordinal);
    }
}
