using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A seeded random API fuzz against a real node: random verbs, ids, paths (with '..', symlinks out of the root, NUL and
/// unicode) and JSON shapes, thousands of requests from a few concurrent clients within about a minute. Asserts: no
/// 5xx, no request left unanswered, every registered disk's chain inside the storage root, the node still serving a
/// disk the fuzz never touches, and every image qemu-img check clean afterwards. Set ORCH_FUZZ_SEED to replay a seed.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ApiFuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan _fuzzFor = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan _requestTimeout = TimeSpan.FromSeconds(40);
    private const int Clients = 4;
    private const int MaxRequests = 20_000;

    [Fact]
    public async Task Random_requests_never_fail_the_node_nor_escape_the_storage_root()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ORCH_FUZZ_SEED"), out var given) ? given : Environment.TickCount;
        output.WriteLine($"fuzz seed {seed} (replay with ORCH_FUZZ_SEED={seed})");

        using var folder = new TempDirectory("fuzz");
        using var outside = new TempDirectory("fuzz-outside");
        await using var node = await NodeProcess.StartAsync(folder.Path);
        var root = node.StorageRoot;

        // Images: a disk the fuzz never names (to show the node still serves it), chains it may register, an image
        // outside the root, and symlinks that lead out of the root (to a file, and to a folder).
        var (_, _, keepTop) = Chains.Create(root, "keep");
        using (var keep = await Json.PostAsync(node.Http, "disks", new { id = "keep", path = keepTop }))
        {
            Assert.Equal(HttpStatusCode.Created, keep.StatusCode);
        }

        var chains = Enumerable.Range(0, 3).Select(i => Chains.Create(root, $"fz{i}")).ToList();
        var outsideImage = outside.Combine("outside.qcow2");
        QemuTools.Create(outsideImage, Chains.Size);
        var outsideHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(outsideImage)));
        File.CreateSymbolicLink(Path.Combine(root, "link-out.qcow2"), outsideImage);
        Directory.CreateSymbolicLink(Path.Combine(root, "dir-out"), outside.Path);
        File.CreateSymbolicLink(Path.Combine(root, "link-in.qcow2"), chains[0].Top);
        Directory.CreateDirectory(Path.Combine(root, "sub"));

        var pools = new Pools(root, outsideImage, chains);
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var sent = 0;
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = _requestTimeout };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", node.Token);

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(seed + c);
            var n = 0;
            while (clock.Elapsed < _fuzzFor && Interlocked.Increment(ref sent) <= MaxRequests)
            {
                var request = pools.NextRequest(random);
                var label = $"client {c} #{n++}: {request.Describe()}";
                var started = clock.Elapsed;
                try
                {
                    using var message = request.ToMessage();
                    using var response = await http.SendAsync(message);
                    var body = await response.Content.ReadAsStringAsync();
                    statuses.AddOrUpdate((int)response.StatusCode, 1, (_, v) => v + 1);
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Enqueue($"{label} -> {(int)response.StatusCode} {Shorten(body)}");
                    }
                }
                catch (TaskCanceledException)
                {
                    failures.Enqueue($"{label} -> no answer within {_requestTimeout.TotalSeconds} s (sent at {started.TotalSeconds:0.0} s)");
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"{label} -> connection failed: {e.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);

        // The node's whole log, for a failure's post-mortem (kept with the folder when ORCH_KEEP_TEST_FILES=1).
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "node.log"), node.Output);
        var total = statuses.Values.Sum();
        output.WriteLine($"{total} requests in {clock.Elapsed.TotalSeconds:0.0} s; statuses: {string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"))}");
        Assert.True(failures.IsEmpty, $"seed {seed}: {failures.Count} failures, first ones:\n{string.Join("\n", failures.Take(10))}\n--- node output (tail) ---\n{Tail(node.Output)}");
        Assert.True(total >= 1000, $"seed {seed}: only {total} requests were answered in {_fuzzFor.TotalSeconds} s");
        Assert.False(node.HasExited, "the node exited during the fuzz");

        // Every registered disk's chain, every file of it, resolves inside the storage root.
        var realRoot = RealPath(root);
        using (var list = await node.Http.GetAsync("disks"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            foreach (var disk in (await Json.BodyAsync(list)).EnumerateArray().Select(d => d.GetProperty("id").GetString()!))
            {
                using var show = await node.Http.GetAsync($"disks/{disk}");
                Assert.Equal(HttpStatusCode.OK, show.StatusCode);
                foreach (var file in (await Json.BodyAsync(show)).GetProperty("chain").EnumerateArray().Select(e => e.GetString()!))
                {
                    var real = RealPath(file);
                    Assert.True(real.StartsWith(realRoot + "/", StringComparison.Ordinal), $"seed {seed}: disk {disk} has '{file}' (really '{real}') outside the root {realRoot}");
                }
            }
        }

        await NodeHealth.AssertServesAsync(node, "keep");

        // Stop the node (its jobs with it), then check every image the fuzz could have touched.
        await node.DisposeAsync();
        var images = Directory.GetFiles(root, "*.qcow2", SearchOption.AllDirectories)
            .Where(f => new FileInfo(f).LinkTarget is null && !f.Contains("/dir-out/", StringComparison.Ordinal))
            .Append(outsideImage)
            .ToList();
        output.WriteLine($"checking {images.Count} images");
        foreach (var image in images)
        {
            var check = QemuTools.Check(image);
            Assert.True(check.ExitCode == 0, $"seed {seed}: qemu-img check {image}: {check.ExitCode}\n{check.StdOut}{check.StdErr}");
        }

        // Nothing outside the root was written or created.
        Assert.Equal(outsideHash, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(outsideImage))));
        Assert.Equal(["outside.qcow2"], Directory.GetFileSystemEntries(outside.Path).Select(e => Path.GetFileName(e)!).ToArray());
        Assert.False(File.Exists(Path.Combine(folder.Path, "escape.qcow2")));
    }

    private static string RealPath(string path)
    {
        var result = ProcessRunner.Run("realpath", ["-m", "--", path]);
        return result.EnsureSuccess().StdOut.Trim();
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "..." : text;

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    /// <summary>One random request: method, path (already escaped as a client would), and a raw body or none.</summary>
    private sealed record FuzzRequest(HttpMethod Method, string Path, byte[]? Body, string? ContentType)
    {
        public HttpRequestMessage ToMessage()
        {
            var message = new HttpRequestMessage(Method, Path);
            if (Body is not null)
            {
                message.Content = new ByteArrayContent(Body);
                if (ContentType is not null)
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            return message;
        }

        public string Describe()
        {
            var body = Body is null ? "" : " " + Shorten(Encoding.UTF8.GetString(Body)).Replace("\n", "\\n", StringComparison.Ordinal);
            return $"{Method} /{Path}{body}";
        }
    }

    /// <summary>The values the fuzz draws from: mostly plausible, often hostile.</summary>
    private sealed class Pools
    {
        private static readonly string[] _jobVerbs = ["pause", "resume", "cancel", "dismiss", "set-speed", "complete", "finalize"];
        private static readonly string[] _onError = ["report", "ignore", "stop", "enospc", "explode", "", "STOP"];
        private readonly string[] _ids;
        private readonly string[] _registerPaths;
        private readonly string[] _newPaths;
        private readonly string[] _chainNames;
        private readonly object[] _numbers = [0, 1, -1, 1024, 1048576, 1L << 40, (1L << 40) + 1, 1L << 53, long.MaxValue, long.MinValue, 1.5, 1e300];

        public Pools(string root, string outsideImage, IReadOnlyList<(string Base, string Mid, string Top)> chains)
        {
            _ids = ["fz0", "fz1", "fz2", "fz-a", "fz-b", "j1", "j2", "fz0-job", "a\n", "a\r", "a\0b", "1x", "-x", "dé", "ディ", "a b", "..", ".", "a/b", "a%2Fb",
                new string('a', 64), new string('a', 65), new string('z', 3000), "", " ", "a\u2028", "\ud800x", "manager", "disk-manager", "user", "system"];
            var top = chains[0].Top;
            _registerPaths = [
                top, chains[1].Top, chains[2].Top, chains[1].Mid, chains[2].Base, Path.GetFileName(top),
                root + "/sub/../" + Path.GetFileName(chains[1].Top),
                root + "/../" + Path.GetFileName(root) + "/" + Path.GetFileName(chains[2].Top),
                root + "/../../../../etc/passwd", "/etc/passwd", "/dev/zero", "/proc/self/environ", outsideImage,
                root + "/link-out.qcow2", root + "/dir-out/outside.qcow2", root + "/link-in.qcow2", root + "/dir-out/../outside.qcow2",
                root + "/missing.qcow2", root + "/sub", root, root + "/", "", " ", "relative/none.qcow2",
                root + "/a\0b.qcow2", root + "/a\nb.qcow2", root + "/ü-ñ.qcow2", root + "/\ud800.qcow2", root + "/" + new string('n', 300) + ".qcow2",
                "/" + string.Concat(Enumerable.Repeat("d/", 2100)), top + "\0", top + "/", top + "/.."];
            _newPaths = [.. Enumerable.Range(0, 4).Select(i => $"{root}/fz-new-{i}.qcow2"), root + "/sub/fz-new-s.qcow2", root + "/ünï-new.qcow2",
                root + "/dir-out/escape.qcow2", root + "/link-out.qcow2", outsideImage, root + "/../escape.qcow2", root + "/dir-out/../../escape.qcow2",
                root + "/x\0y.qcow2", root + "/missing-dir/new.qcow2", root, top, "fz-new-rel.qcow2"];
            _chainNames = [.. chains.SelectMany(c => new[] { Path.GetFileName(c.Base), Path.GetFileName(c.Mid), Path.GetFileName(c.Top) }),
                "missing.qcow2", "../images/" + Path.GetFileName(chains[0].Base), "b\0.qcow2", "\n", ""];
        }

        public FuzzRequest NextRequest(Random random)
        {
            var id = Escape(Pick(random, _ids), random);
            return random.Next(14) switch
            {
                0 => new(HttpMethod.Get, "disks", null, null),
                1 => new(HttpMethod.Get, $"disks/{id}", null, null),
                2 => new(HttpMethod.Delete, $"disks/{id}", null, null),
                3 or 4 => Post("disks", random, new() { ["id"] = () => Pick(random, _ids), ["path"] = () => Pick(random, _registerPaths) }),
                5 => Post($"disks/{id}/snapshot", random, new() { ["path"] = () => Pick(random, _newPaths) }),
                6 or 7 => Post($"disks/{id}/stream", random, StreamFields(random)),
                8 => Post($"disks/{id}/block-copy", random, new()
                {
                    ["destination"] = () => Pick(random, _newPaths), ["jobId"] = () => Pick(random, _ids), ["job-id"] = () => Pick(random, _ids),
                    ["speed"] = () => Pick(random, _numbers), ["onError"] = () => Pick(random, _onError), ["autoDismiss"] = () => random.Next(2) == 0,
                }),
                9 => new(HttpMethod.Get, random.Next(2) == 0 ? "jobs" : $"jobs/{id}", null, null),
                10 or 11 => JobVerb(id, random),
                12 => new(HttpMethod.Get, $"events?follow={Pick(random, new[] { "false", "0", "no", "maybe", "%00" })}&after={Pick(random, new object[] { 0, -1, "x", long.MaxValue, "99999999999999999999" })}", null, null),
                _ => Garbage(random),
            };
        }

        private Dictionary<string, Func<object?>> StreamFields(Random random) => new()
        {
            ["jobId"] = () => Pick(random, _ids), ["job-id"] = () => Pick(random, _ids),
            ["base"] = () => Pick(random, _chainNames), ["base-node"] = () => Pick(random, _chainNames), ["top"] = () => Pick(random, _chainNames),
            ["backingFile"] = () => Pick(random, _chainNames.Where(n => n.Contains("base", StringComparison.Ordinal) || n.Length < 3).ToArray()),
            ["speed"] = () => Pick(random, _numbers), ["onError"] = () => Pick(random, _onError), ["on-error"] = () => Pick(random, _onError),
            ["autoDismiss"] = () => random.Next(2) == 0, ["auto-dismiss"] = () => random.Next(2) == 0,
        };

        private FuzzRequest JobVerb(string id, Random random)
        {
            var verb = Pick(random, _jobVerbs);
            return verb == "set-speed"
                ? Post($"jobs/{id}/set-speed", random, new() { ["speed"] = () => Pick(random, _numbers) })
                : new(HttpMethod.Post, $"jobs/{id}/{verb}", random.Next(4) == 0 ? Encoding.UTF8.GetBytes("{}") : null, null);
        }

        /// <summary>A JSON object with some of the endpoint's fields (right or wrong types), sometimes an unknown one, or another shape entirely.</summary>
        private static FuzzRequest Post(string path, Random random, Dictionary<string, Func<object?>> fields)
        {
            var shape = random.Next(20);
            string json;
            if (shape == 0)
            {
                json = Pick(random, new[] { "", "[]", "null", "42", "\"x\"", "{", "{}}", "[{}]", "{\"a\":" + new string('[', 50) + new string(']', 50) + "}" });
            }
            else
            {
                var members = new List<string>();
                foreach (var (name, value) in fields)
                {
                    if (random.Next(3) == 0)
                    {
                        continue;
                    }

                    members.Add($"{JsonSerializer.Serialize(name)}:{Value(random, value)}");
                }

                if (random.Next(8) == 0)
                {
                    members.Add(Pick(random, new[] { "\"job_id\":\"x\"", "\"device\":\"fz0\"", "\"\":1", "\"\\u0000\":1", "\"id\":1", "\"speed\":1" }));
                }

                json = "{" + string.Join(",", members) + "}";
            }

            var contentType = random.Next(6) switch
            {
                0 => null,
                1 => "text/plain",
                2 => "application/x-www-form-urlencoded",
                _ => "application/json",
            };
            return new(HttpMethod.Post, path, Encoding.UTF8.GetBytes(json), contentType);
        }

        private static string Value(Random random, Func<object?> plausible) => random.Next(10) switch
        {
            0 => "null",
            1 => Pick(random, new[] { "[]", "{}", "true", "-0", "1e999", "\"\\ud800\"", "\"\\u0000\"", "123456789012345678901234567890" }),
            _ => plausible() switch
            {
                string s => JsonSerializer.Serialize(s),
                bool b => b ? "true" : "false",
                double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                var other => JsonSerializer.Serialize(other),
            },
        };

        private FuzzRequest Garbage(Random random)
        {
            var paths = new[] { "disks/%00", "disks/..%2F..%2Fetc", "jobs//pause", "disks/fz0/stream/extra", "disks?x=%ff", "%2e%2e/%2e%2e/etc/passwd", "openapi/v1.json", "nope" };
            var methods = new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Post, HttpMethod.Options };
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            return new(Pick(random, methods), Pick(random, paths), random.Next(2) == 0 ? bytes : null, "application/json");
        }

        /// <summary>An id as a client puts it in a URL: escaped, sometimes not (raw dots), sometimes double-escaped.</summary>
        private static string Escape(string id, Random random) => random.Next(6) switch
        {
            0 => Uri.EscapeDataString(Uri.EscapeDataString(id)),
            _ => id.Length == 0 ? "%20" : Uri.EscapeDataString(id),
        };

        private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
    }
}
