using System.Net;
using System.Net.Http.Headers;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The HTTP API of a real node process: authentication, storage roots, validation, not-found, OpenAPI.</summary>
public sealed class NodeApiTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Requests_without_the_token_get_401_with_a_json_error()
    {
        using var anonymous = new HttpClient { BaseAddress = Node.Url };
        foreach (var path in new[] { "disks", "jobs", "openapi/v1.json", "events?follow=false", "no/such/path" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("unauthorized", (await Json.ErrorAsync(response)).Code);
        }

        using var wrong = new HttpClient { BaseAddress = Node.Url };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        using (var response = await wrong.GetAsync("disks"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("invalid bearer token", (await Json.ErrorAsync(response)).Message, StringComparison.Ordinal);
        }

        using (var response = await Node.Http.GetAsync("disks"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public void The_token_file_has_mode_0600()
    {
        var token = Path.Combine(Node.DataDirectory, NodePaths.TokenFile);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
        }

        Assert.True(Node.Token.Length >= 32, "the token should carry at least 192 bits");
        Assert.Equal(Node.Url.GetLeftPart(UriPartial.Authority), File.ReadAllText(Path.Combine(Node.DataDirectory, NodePaths.EndpointFile)).Trim());
    }

    [Fact]
    public async Task Paths_outside_the_storage_roots_are_refused_with_403()
    {
        using var outside = new TempDirectory("outside");
        var image = outside.Combine("x.qcow2");
        QemuTools.Create(image, 1024 * 1024);

        using (var response = await Json.PostAsync(Node.Http, "disks", new { id = "outside1", path = image }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var (code, message) = await Json.ErrorAsync(response);
            Assert.Equal("outside-storage-root", code);
            Assert.Contains(image, message, StringComparison.Ordinal);
        }

        // A relative path that climbs out of the root is refused the same way.
        using (var response = await Json.PostAsync(Node.Http, "disks", new { id = "outside2", path = Path.Combine(Node.StorageRoot, "..", "..", "x.qcow2") }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        var cli = await Node.CliAsync("disk", "add", "outside3", image);
        Assert.Equal(1, cli.ExitCode);
        var line = Assert.Single(cli.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("outside the storage roots", line, StringComparison.Ordinal);

        // Snapshot and block-copy destinations are checked too.
        var (_, _, top) = Chains.Create(Node.StorageRoot, "roots");
        (await Node.CliAsync("disk", "add", "roots", top)).EnsureSuccess();
        using (var response = await Json.PostAsync(Node.Http, "disks/roots/snapshot", new { path = outside.Combine("snap.qcow2") }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var response = await Json.PostAsync(Node.Http, "disks/roots/block-copy", new { destination = outside.Combine("copy.qcow2") }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.False(File.Exists(outside.Combine("snap.qcow2")));
        Assert.False(File.Exists(outside.Combine("copy.qcow2")));
    }

    [Fact]
    public async Task Disk_add_list_show_remove_through_the_cli()
    {
        var (@base, mid, top) = Chains.Create(Node.StorageRoot, "life");

        var add = (await Node.CliAsync("disk", "add", "life", Path.GetFileName(top))).EnsureSuccess();
        Assert.Contains("[life-base.qcow2] -> [life-mid.qcow2] -> [life-top.qcow2]", add.StdOut, StringComparison.Ordinal);

        var list = Json.Parse((await Node.CliAsync("disk", "list", "--output", "json")).EnsureSuccess().StdOut);
        var entry = list.EnumerateArray().Single(d => d.GetProperty("id").GetString() == "life");
        Assert.Equal(top, entry.GetProperty("activePath").GetString());
        Assert.Equal(3, entry.GetProperty("chainLength").GetInt32());
        Assert.Equal(0, entry.GetProperty("liveJobs").GetInt32());

        var humanList = (await Node.CliAsync("disk", "list")).EnsureSuccess().StdOut;
        Assert.Contains("life", humanList, StringComparison.Ordinal);

        var show = Json.Parse((await Node.CliAsync("disk", "show", "life", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal([top, mid, @base], show.GetProperty("chain").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var images = show.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(3, images.Count);
        Assert.All(images, i => Assert.Equal(Chains.Size, i.GetProperty("virtualSize").GetInt64()));
        Assert.Equal("life-mid.qcow2", images[0].GetProperty("backingFile").GetString());
        Assert.Equal(JsonValueKindNull, images[2].GetProperty("backingFile").ValueKind);

        // Allocation as qemu-img sees it: base has 12 MiB of data, mid 9 MiB, top 1 MiB.
        Assert.True(images[2].GetProperty("allocatedBytes").GetInt64() >= 12L * 1024 * 1024);
        Assert.True(images[1].GetProperty("allocatedBytes").GetInt64() >= 9L * 1024 * 1024);
        Assert.True(images[0].GetProperty("allocatedBytes").GetInt64() >= 1L * 1024 * 1024);

        var human = (await Node.CliAsync("disk", "show", "life")).EnsureSuccess().StdOut;
        Assert.Contains($"active image: {top}", human, StringComparison.Ordinal);

        var again = await Node.CliAsync("disk", "add", "life", top);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already registered", again.StdErr, StringComparison.Ordinal);

        (await Node.CliAsync("disk", "remove", "life")).EnsureSuccess();
        Assert.True(File.Exists(top) && File.Exists(mid) && File.Exists(@base), "unregistering must never delete images");
        var gone = await Node.CliAsync("disk", "show", "life");
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("not registered", gone.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gone.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_requests_get_400_naming_the_field()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "bad");
        (await Node.CliAsync("disk", "add", "bad", top)).EnsureSuccess();

        await ExpectInvalid("disks", """{"id":"x1"}""", "'path'");
        await ExpectInvalid("disks", $$"""{"path":"{{top}}"}""", "'id'");
        await ExpectInvalid("disks", $$"""{"id":"x1","path":"{{top}}","colour":"red"}""", "'colour'");
        await ExpectInvalid("disks", $$"""{"id":"1starts-with-a-digit","path":"{{top}}"}""", "'id'");
        await ExpectInvalid("disks", """{"id":"x1",""", "JSON");
        await ExpectInvalid("disks", "", "JSON");
        await ExpectInvalid("disks/bad/stream", """{"speed":"fast"}""", "'speed'");
        await ExpectInvalid("disks/bad/stream", """{"speed":-1}""", "'speed'");
        await ExpectInvalid("disks/bad/stream", """{"onError":"explode"}""", "'onError'");
        await ExpectInvalid("disks/bad/stream", """{"autoDismiss":"yes"}""", "'autoDismiss'");
        await ExpectInvalid("disks/bad/stream", """{"jobId":"has space"}""", "'jobId'");
        await ExpectInvalid("disks/bad/snapshot", "{}", "'path'");
        await ExpectInvalid("disks/bad/block-copy", "{}", "'destination'");
        await ExpectInvalid("jobs/whatever/set-speed", "{}", "'speed'");

        // The CLI refuses bad values before sending anything, and prints one line.
        var cli = await Node.CliAsync("stream", "bad", "--on-error", "explode");
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("--on-error", Assert.Single(cli.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_disks_and_jobs_get_404()
    {
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "disks/nope"),
            (HttpMethod.Delete, "disks/nope"),
            (HttpMethod.Get, "jobs/nope"),
            (HttpMethod.Post, "jobs/nope/pause"),
            (HttpMethod.Post, "jobs/nope/cancel"),
        })
        {
            using var response = await Node.Http.SendAsync(new HttpRequestMessage(method, path));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("not-found", (await Json.ErrorAsync(response)).Code);
        }

        using (var response = await Json.PostAsync(Node.Http, "disks/nope/stream", "{}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        var cli = await Node.CliAsync("disk", "show", "nope");
        Assert.Equal(1, cli.ExitCode);
        Assert.Equal("orchestrator: disk 'nope' is not registered", cli.StdErr.Trim());

        var job = await Node.CliAsync("job", "pause", "nope");
        Assert.Equal(1, job.ExitCode);
        Assert.Contains("not found", job.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        using var response = await Node.Http.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = await Json.BodyAsync(response);
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/disks", "/disks/{id}", "/disks/{id}/snapshot", "/disks/{id}/stream", "/disks/{id}/block-copy", "/jobs", "/jobs/{id}", "/jobs/{id}/pause", "/jobs/{id}/set-speed", "/events" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        }

        Assert.True(paths.GetProperty("/disks/{id}/stream").GetProperty("post").TryGetProperty("requestBody", out _));
        var job = doc.GetProperty("components").GetProperty("schemas").GetProperty("JobView").GetProperty("properties");
        foreach (var field in new[] { "type", "device", "len", "offset", "busy", "paused", "speed", "io-status", "ready", "status", "auto-finalize", "auto-dismiss", "error", "disk" })
        {
            Assert.True(job.TryGetProperty(field, out _), $"job field '{field}' is missing");
        }
    }

    [Fact]
    public async Task Jobs_lists_nothing_when_idle()
    {
        var human = (await Node.CliAsync("jobs")).EnsureSuccess().StdOut;
        var json = Json.Parse((await Node.CliAsync("jobs", "--output", "json")).EnsureSuccess().StdOut);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, json.ValueKind);
        if (json.GetArrayLength() == 0)
        {
            Assert.Equal("No active jobs", human.Trim());
        }
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNull = System.Text.Json.JsonValueKind.Null;

    private async Task ExpectInvalid(string path, string body, string mentions)
    {
        using var response = await Json.PostAsync(Node.Http, path, body);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"POST /{path} {body}: expected 400, got {(int)response.StatusCode}");
        var (code, message) = await Json.ErrorAsync(response);
        Assert.Equal("invalid-parameter", code);
        Assert.Contains(mentions, message, StringComparison.Ordinal);
    }
}
