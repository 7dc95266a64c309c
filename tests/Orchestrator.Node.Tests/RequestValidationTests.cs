using System.Net;
using System.Text;
using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Every request field validated at the door of a real node: control characters and NUL in paths and ids, unknown
/// fields, malformed bodies of every shape, QMP's field names, speeds the rate limiter cannot represent. Never a 500.
/// </summary>
public sealed class RequestValidationTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    /// <summary>JSON escapes for the characters a hostile client sends: NUL, newline, DEL, a C1 control, half a surrogate pair.</summary>
    public static TheoryData<string, string> PoisonEscapes => new()
    {
        { "nul", @"\u0000" },
        { "newline", @"\n" },
        { "del", @"\u007f" },
        { "cone", @"\u0085" },
        { "surrogate", @"\ud800" },
    };

    [Theory]
    [MemberData(nameof(PoisonEscapes))]
    public async Task Control_characters_and_broken_unicode_in_paths_and_ids_get_400_naming_the_field(string name, string poison)
    {
        var disk = "vpo-" + name;
        var (_, _, top) = Chains.Create(Node.StorageRoot, disk);
        (await Node.CliAsync("disk", "add", disk, top)).EnsureSuccess();
        var inRoot = Node.StorageRoot + "/x" + poison + ".qcow2";

        await ExpectInvalid("disks", $$"""{"id":"p{{poison}}","path":"{{top}}"}""", "'id'");
        await ExpectInvalid("disks", $$"""{"id":"p1","path":"{{inRoot}}"}""", "'path'");
        await ExpectInvalid($"disks/{disk}/snapshot", $$"""{"path":"{{inRoot}}"}""", "'path'");
        await ExpectInvalid($"disks/{disk}/block-copy", $$"""{"destination":"{{inRoot}}"}""", "'destination'");
        await ExpectInvalid($"disks/{disk}/block-copy", $$"""{"destination":"{{Node.StorageRoot}}/c.qcow2","jobId":"j{{poison}}"}""", "'jobId'");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"jobId":"j{{poison}}"}""", "'jobId'");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"job-id":"j{{poison}}"}""", "'job");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"backingFile":"b{{poison}}.qcow2"}""", "'backingFile'");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"base":"b{{poison}}.qcow2"}""", "'base'");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"top":"t{{poison}}.qcow2"}""", "'top'");
        await ExpectInvalid($"disks/{disk}/stream", $$"""{"onError":"stop{{poison}}"}""", "'onError'");

        // Nothing was created, nothing started, and the disk is as it was.
        Assert.Empty(Directory.GetFiles(Node.StorageRoot, "x*"));
        using var show = await Node.Http.GetAsync($"disks/{disk}");
        var body = await Json.BodyAsync(show);
        Assert.Equal(3, body.GetProperty("chain").GetArrayLength());
        Assert.Equal(0, body.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task Poison_ids_in_urls_are_not_found_and_the_message_escapes_them()
    {
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "disks/a%0A"),
            (HttpMethod.Delete, "disks/a%0A"),
            (HttpMethod.Get, "jobs/a%0A"),
            (HttpMethod.Post, "jobs/a%0A/cancel"),
            (HttpMethod.Get, "disks/%E3%83%87"),
            (HttpMethod.Get, "jobs/" + new string('j', 5000)),
        })
        {
            using var response = await Node.Http.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
            var (code, message) = await Json.ErrorAsync(response);
            Assert.Equal("not-found", code);
            Assert.DoesNotContain(message, char.IsControl);
        }

        using var speed = await Json.PostAsync(Node.Http, "jobs/a%0A/set-speed", """{"speed":1}""");
        Assert.Equal(HttpStatusCode.NotFound, speed.StatusCode);
    }

    [Fact]
    public async Task Unknown_fields_are_refused_in_every_body_and_all_are_named()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "vun");
        (await Node.CliAsync("disk", "add", "vun", top)).EnsureSuccess();

        await ExpectInvalid("disks", $$"""{"id":"vun2","path":"{{top}}","node-name":"x"}""", "unknown field 'node-name'");
        await ExpectInvalid("disks/vun/snapshot", $$"""{"path":"{{Node.StorageRoot}}/vun-s.qcow2","format":"qcow2"}""", "unknown field 'format'");
        await ExpectInvalid("disks/vun/stream", """{"job_id":"typo"}""", "unknown field 'job_id'");
        await ExpectInvalid("disks/vun/stream", """{"device":"vun","jobid2":"x"}""", "unknown fields 'device', 'jobid2'");
        await ExpectInvalid("disks/vun/block-copy", $$"""{"destination":"{{Node.StorageRoot}}/vun-c.qcow2","sync":"full"}""", "unknown field 'sync'");
        await ExpectInvalid("jobs/nope/set-speed", """{"speed":1,"rate":2}""", "unknown field 'rate'");

        // The message lists what is known, in both spellings.
        using var response = await Json.PostAsync(Node.Http, "disks/vun/stream", """{"job_id":"typo"}""");
        var (_, message) = await Json.ErrorAsync(response);
        Assert.Contains("jobId (job-id)", message, StringComparison.Ordinal);

        // No job was started under a default id, no file was created.
        using var jobs = await Node.Http.GetAsync("jobs");
        Assert.DoesNotContain((await Json.BodyAsync(jobs)).EnumerateArray(), j => j.GetProperty("disk").GetString() == "vun");
        Assert.False(File.Exists(Path.Combine(Node.StorageRoot, "vun-s.qcow2")));
        Assert.False(File.Exists(Path.Combine(Node.StorageRoot, "vun-c.qcow2")));
    }

    [Fact]
    public async Task Bodies_of_every_shape_get_4xx_with_a_clear_message()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "vsh");
        (await Node.CliAsync("disk", "add", "vsh", top)).EnsureSuccess();

        foreach (var (body, mentions) in new[]
        {
            ("[]", "not an array"),
            ("""[{"id":"a"}]""", "not an array"),
            ("\"text\"", "not a string"),
            ("42", "not a number"),
            ("null", "not null"),
            ("true", "not true or false"),
            ("", "empty"),
            ("   ", "empty"),
            ("{", "not valid JSON"),
            ("{}{}", "not valid JSON"),
            ("""{"speed":1,}""", "not valid JSON"),
            ("""{/* comment */}""", "not valid JSON"),
            ("{'jobId':'x'}", "not valid JSON"),
            ("""{"speed":92233720368547758080}""", "'speed'"),
            ("""{"speed":-92233720368547758080}""", "'speed'"),
            ("""{"speed":1.5}""", "'speed'"),
            ("""{"speed":1e3}""", "'speed'"),
            ("""{"speed":"100"}""", "'speed'"),
            ("""{"speed":[1]}""", "'speed'"),
            ("""{"jobId":5}""", "'jobId'"),
            ("""{"jobId":{"a":1}}""", "'jobId'"),
            ("""{"auto-dismiss":"false"}""", "'auto-dismiss'"),
            ("""{"speed":1,"speed":2}""", "'speed' is given twice"),
            ("{" + new string('[', 100) + new string(']', 100) + "}", "not valid JSON"),
            ("""{"jobId":""" + new string('[', 40) + new string(']', 40) + "}", "deeper than 16"),
            ("""{"jobId":[[["x"]]]}""", "'jobId'"),
        })
        {
            await ExpectInvalid("disks/vsh/stream", body, mentions);
        }

        // Invalid UTF-8 bytes.
        using (var response = await Node.Http.PostAsync("disks/vsh/stream", new ByteArrayContent([(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}'])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        // The content type does not matter: garbage labelled as anything is a 400 naming JSON.
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data" })
        {
            using var response = await Node.Http.PostAsync("disks/vsh/stream", new StringContent("speed=5", Encoding.UTF8, type));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("JSON", (await Json.ErrorAsync(response)).Message, StringComparison.Ordinal);
        }

        // A body over the 1 MiB limit is refused before it is read. The client waits for 100-continue, as curl does for
        // large bodies: otherwise it may still be sending when the node answers and closes, and see a broken pipe.
        using (var tooLarge = new HttpRequestMessage(HttpMethod.Post, "disks/vsh/stream")
        {
            Content = new StringContent("{\"jobId\":\"" + new string('a', 2 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json"),
        })
        using (var response = await SendExpectingContinueAsync(tooLarge))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("too large", (await Json.ErrorAsync(response)).Message, StringComparison.OrdinalIgnoreCase);
        }

        using var jobs = await Node.Http.GetAsync("jobs");
        Assert.DoesNotContain((await Json.BodyAsync(jobs)).EnumerateArray(), j => j.GetProperty("disk").GetString() == "vsh");
    }

    [Fact]
    public async Task Qmp_field_names_are_accepted_and_giving_both_spellings_is_refused()
    {
        var (@base, _, top) = Chains.Create(Node.StorageRoot, "vqm");
        (await Node.CliAsync("disk", "add", "vqm", top)).EnsureSuccess();

        await ExpectInvalid("disks/vqm/stream", """{"job-id":"a","jobId":"b"}""", "'jobId' is given twice, as 'job-id' and as 'jobId'");
        await ExpectInvalid("disks/vqm/stream", """{"base":"vqm-base.qcow2","base-node":"vqm-base.qcow2"}""", "'base' is given twice");
        await ExpectInvalid("disks/vqm/stream", """{"on-error":"stop","onError":"stop"}""", "given twice");
        await ExpectInvalid("disks/vqm/stream", """{"on-error":"explode"}""", "'onError'");

        using (var response = await Json.PostAsync(Node.Http, "disks/vqm/stream",
            """{"job-id":"vqm-job","base-node":"vqm-base.qcow2","backing-file":"vqm-base.qcow2","on-error":"stop","auto-dismiss":false,"speed":0}"""))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            var job = await Json.BodyAsync(response);
            Assert.Equal("vqm-job", job.GetProperty("device").GetString());
            Assert.False(job.GetProperty("auto-dismiss").GetBoolean());
        }

        var concluded = await JobPolling.WaitForStatusAsync(Node, "vqm-job", "concluded", TimeSpan.FromSeconds(60));
        Assert.False(concluded.TryGetProperty("error", out _), concluded.ToString());
        using (var dismiss = await Node.Http.PostAsync("jobs/vqm-job/dismiss", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, dismiss.StatusCode);
        }

        using var show = await Node.Http.GetAsync("disks/vqm");
        var chain = (await Json.BodyAsync(show)).GetProperty("chain").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal([top, @base], chain);
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    [Fact]
    public async Task Speeds_the_rate_limiter_cannot_represent_are_refused_and_the_cap_is_accepted()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "vsp");
        (await Node.CliAsync("disk", "add", "vsp", top)).EnsureSuccess();

        foreach (var speed in new[] { long.MaxValue, (1L << 53) + 1, RequestChecksMaxSpeed + 1 })
        {
            await ExpectInvalid("disks/vsp/stream", $$"""{"speed":{{speed}}}""", "'speed'");
            await ExpectInvalid("disks/vsp/block-copy", $$"""{"destination":"{{Node.StorageRoot}}/vsp-c.qcow2","speed":{{speed}}}""", "'speed'");
            await ExpectInvalid("jobs/vsp-any/set-speed", $$"""{"speed":{{speed}}}""", "'speed'");
        }

        using (var response = await Json.PostAsync(Node.Http, "disks/vsp/stream", $$"""{"job-id":"vsp-job","speed":{{RequestChecksMaxSpeed}},"auto-dismiss":false}"""))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        }

        var job = await JobPolling.WaitForStatusAsync(Node, "vsp-job", "concluded", TimeSpan.FromSeconds(60));
        Assert.Equal(Chains.Size, job.GetProperty("offset").GetInt64());
        Assert.False(job.TryGetProperty("error", out _), job.ToString());
        using var dismiss = await Node.Http.PostAsync("jobs/vsp-job/dismiss", null);
        Assert.Equal(0, QemuTools.Check(top).ExitCode);
    }

    /// <summary>The API and the engine (the disk front asked directly) refuse a poison id with the same code and message.</summary>
    [Fact]
    public async Task The_api_and_the_engine_refuse_a_bad_id_with_the_same_error()
    {
        var (_, _, top) = Chains.Create(Node.StorageRoot, "vsame");
        using var journal = new TempDirectory("same-journal");
        using var system = ActorSystem.Create("same", Engine.Cluster.ClusterOfOne.Config("test-host").WithFallback(SqliteJournalConfig.For(journal.Combine("journal.db"))));
        Engine.Cluster.ClusterOfOne.Join(system, "test-host");
        var (manager, _) = Engine.Disks.DiskEngine.Start(system, new EngineSettings { StorageRoots = [Node.StorageRoot] }, new EventHub(), new Engine.Disks.LocalDisks(), "test-host");

        foreach (var id in new[] { "a\n", "1disk", "a b", "a\0", "disqué", new string('a', 65) })
        {
            var escaped = System.Text.Json.JsonSerializer.Serialize(id);
            using var response = await Json.PostAsync(Node.Http, "disks", $$"""{"id":{{escaped}},"path":"{{top}}"}""");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var (code, message) = await Json.ErrorAsync(response);

            var reply = await manager.Ask<object>(new DiskCommands.Register(new DiskId(id), top), TimeSpan.FromSeconds(30));
            var refused = Assert.IsType<DiskReplies.Refused>(reply);
            Assert.Equal(refused.Error.Code, code);
            Assert.Equal(refused.Error.Message, message);
        }

        await system.Terminate();
    }

    private static long RequestChecksMaxSpeed => Api.RequestChecks.MaxSpeed;

    private async Task ExpectInvalid(string path, string body, string mentions)
    {
        using var response = await Json.PostAsync(Node.Http, path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"POST /{path} {Shorten(body)}: expected 400, got {(int)response.StatusCode} {text}");
        var (code, message) = await Json.ErrorAsync(response);
        Assert.Equal("invalid-parameter", code);
        Assert.True(message.Contains(mentions, StringComparison.Ordinal), $"POST /{path} {Shorten(body)}: '{message}' does not mention {mentions}");
        Assert.DoesNotContain(message, char.IsControl);
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "..." : text;

    private async Task<HttpResponseMessage> SendExpectingContinueAsync(HttpRequestMessage request)
    {
        request.Headers.ExpectContinue = true;
        return await Node.Http.SendAsync(request);
    }
}
