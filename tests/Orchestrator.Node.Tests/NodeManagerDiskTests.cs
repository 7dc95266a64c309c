using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Orchestrator.Domain;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A disk named "manager" (whose persistence id, "disk-manager", was once the disk manager's own) and ids the rule
/// refuses, against a real node process killed with SIGKILL.
/// </summary>
public sealed class NodeManagerDiskTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private static readonly string[] NodeArgs = ["--batch-size", "1M", "--checkpoint-size", "4M", "--request-timeout", "5"];
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_disk_named_manager_streamed_and_killed_midway_comes_back_with_the_others_and_resumes_from_its_checkpoint()
    {
        var seed = Environment.GetEnvironmentVariable("ORCH_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (set ORCH_TEST_SEED to reproduce)");
        var rng = new Random(seed);
        using var folder = new TempDirectory("manager-disk");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(Directory.CreateDirectory(Path.Combine(images, "manager")).FullName, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);
        var others = new[] { "vm1", "registry" }.Select(id =>
        {
            var dir = Directory.CreateDirectory(Path.Combine(images, id)).FullName;
            QemuTools.Create(Path.Combine(dir, "base.qcow2"), 16 * MiB);
            QemuTools.Create(Path.Combine(dir, "top.qcow2"), 16 * MiB, backing: "base.qcow2");
            return (Id: id, Path: Path.Combine(dir, "top.qcow2"));
        }).ToList();

        long seenBeforeKill;
        var node = await NodeProcess.StartAsync(folder.Path, NodeArgs);
        try
        {
            foreach (var (id, path) in others.Prepend(("manager", chain.D)))
            {
                using var response = await Json.PostAsync(node.Http, "disks", new { id, path });
                Assert.True(response.StatusCode == HttpStatusCode.Created, $"register {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            using (var stream = await Json.PostAsync(node.Http, "disks/manager/stream", new { @base = Path.GetFileName(chain.A), speed = 24 * MiB }))
            {
                Assert.True(stream.StatusCode == HttpStatusCode.Created, $"stream: {(int)stream.StatusCode} {await stream.Content.ReadAsStringAsync()}");
            }

            // Past the second checkpoint (4 MiB each), then killed.
            var target = (9 * MiB) + rng.NextInt64(0, 16 * MiB);
            seenBeforeKill = await WaitForOffsetAsync(node, target);
            await node.KillAsync();
        }
        finally
        {
            await node.DisposeAsync();
        }

        var journal = JournalFacts.Read(Path.Combine(folder.Path, "data", NodePaths.JournalFile), "manager", "manager");
        output.WriteLine($"killed at offset {seenBeforeKill}; journal: {journal}");
        Assert.True(journal.LastCheckpoint >= 4 * MiB, $"no checkpoint persisted before the kill: {journal}");

        node = await NodeProcess.StartAsync(folder.Path, NodeArgs);
        try
        {
            var list = Json.Parse((await node.CliAsync("disk", "list", "--output", "json")).EnsureSuccess().StdOut);
            Assert.Equal(["manager", "registry", "vm1"], list.EnumerateArray().Select(d => d.GetProperty("id").GetString()).Order(StringComparer.Ordinal));

            var job = await GetJobAsync(node, "manager") ?? throw new InvalidOperationException($"the job is gone after the restart\n{node.Output}");
            var resumedAt = job.GetProperty("offset").GetInt64();
            output.WriteLine($"after the restart the job is at offset {resumedAt}");
            Assert.True(resumedAt >= journal.LastCheckpoint, $"the job restarted from {resumedAt}, below its checkpoint {journal.LastCheckpoint}");
            Assert.Contains($"resuming job manager (running) from offset {journal.LastCheckpoint}", node.Output, StringComparison.Ordinal);

            var clock = Stopwatch.StartNew();
            while (await GetJobAsync(node, "manager") is not null)
            {
                Assert.True(clock.Elapsed < JobTimeout, $"the resumed job did not end\n{node.Output}");
                await Task.Delay(100);
            }

            var show = Json.Parse((await node.CliAsync("disk", "show", "manager", "--output", "json")).EnsureSuccess().StdOut);
            Assert.Equal([chain.D, chain.A], show.GetProperty("chain").EnumerateArray().Select(e => e.GetString()!));
            foreach (var (id, _) in others)
            {
                var other = Json.Parse((await node.CliAsync("disk", "show", id, "--output", "json")).EnsureSuccess().StdOut);
                Assert.Equal("ready", other.GetProperty("state").GetString());
            }
        }
        finally
        {
            await node.DisposeAsync();
        }

        QemuTools.Check(chain.D).EnsureSuccess();
        QemuTools.Compare(chain.D, reference, "qcow2", "raw").EnsureSuccess();
    }

    [Theory]
    [InlineData("a\n")]
    [InlineData("-dash")]
    [InlineData("has space")]
    public async Task An_id_the_rule_refuses_gets_the_rule_s_error_from_the_api(string id)
    {
        using var folder = new TempDirectory("bad-id");
        await using var node = await NodeProcess.StartAsync(folder.Path, NodeArgs);
        QemuTools.Create(node.Image("disk.qcow2"), 16 * MiB);
        using var response = await Json.PostAsync(node.Http, "disks", new { id, path = node.Image("disk.qcow2") });
        var (code, message) = await Json.ErrorAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid-parameter", code);
        Assert.Equal(IdRule.Problem(id, "id"), message);
    }

    private static async Task<long> WaitForOffsetAsync(NodeProcess node, long target)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = await GetJobAsync(node, "manager") ?? throw new InvalidOperationException($"the job ended before offset {target}\n{node.Output}");
            var offset = job.GetProperty("offset").GetInt64();
            if (offset >= target)
            {
                return offset;
            }

            Assert.True(clock.Elapsed < JobTimeout, $"the job never reached offset {target} (at {offset})\n{node.Output}");
            await Task.Delay(5);
        }
    }

    private static async Task<JsonElement?> GetJobAsync(NodeProcess node, string id)
    {
        using var response = await node.Http.GetAsync($"jobs/{id}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.True(response.IsSuccessStatusCode, $"GET /jobs/{id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await Json.BodyAsync(response);
    }
}
