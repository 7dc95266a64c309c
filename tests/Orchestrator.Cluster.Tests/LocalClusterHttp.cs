using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Cluster.Tests;

/// <summary>What the tests on local-cluster.sh's real nodes do through the HTTP API and to the processes.</summary>
internal static class LocalClusterHttp
{
    // Small steps, so that the job has a checkpoint to resume from between any two kills; a lost member downed after
    // 2 s of stable membership instead of 7 (the resolver's stable-after), so a killed host's new incarnation joins
    // sooner. The failure detector keeps its 3 s: shorter, a loaded machine made members flap.
    public static readonly IReadOnlyDictionary<string, string> CrashTestNodeSettings = new Dictionary<string, string>
    {
        ["ORCHESTRATOR_BATCHSIZE"] = "256K",
        ["ORCHESTRATOR_CHECKPOINTSIZE"] = "1M",
        ["ORCHESTRATOR_STABLEAFTER"] = "2",

        // A restarted node whose joins go unanswered (docs/operations.md) exits after 30 s instead of 60, and the
        // script starts it again; a normal rejoin after a kill takes 8-10 s.
        ["ORCHESTRATOR_JOINTIMEOUT"] = "30",
    };

    /// <summary>[A] -> [B] -> [C] -> [D]: B holds <paramref name="dataBytes"/> of data from offset 0, C a few random clusters, D nothing yet.</summary>
    public static (string Top, string Bottom) DataChain(string folder, Random rng, long chainSize, long dataBytes, int guestCluster)
    {
        string[] names = ["A.qcow2", "B.qcow2", "C.qcow2", "D.qcow2"];
        QemuTools.Img("create", "-q", "-f", "qcow2", Path.Combine(folder, names[0]), chainSize.ToString(CultureInfo.InvariantCulture)).EnsureSuccess();
        for (var i = 1; i < names.Length; i++)
        {
            QemuTools.Img("create", "-q", "-f", "qcow2", "-b", names[i - 1], "-F", "qcow2", Path.Combine(folder, names[i])).EnsureSuccess();
        }

        QemuTools.Io("-f", "qcow2", "-c", $"write -P 0x5a 0 {dataBytes}", Path.Combine(folder, names[1])).EnsureSuccess();
        var writes = Enumerable.Range(0, 8).SelectMany(_ => new[] { "-c", $"write -P {rng.Next(1, 256)} {rng.NextInt64(0, chainSize / guestCluster) * guestCluster} {guestCluster}" });
        QemuTools.Io(["-f", "qcow2", .. writes, Path.Combine(folder, names[2])]).EnsureSuccess();
        return (Path.Combine(folder, names[3]), Path.Combine(folder, names[0]));
    }

    /// <summary>Sets the job's speed; a 503 (the journal's database just came back, and no write has gone through yet) is tried again.</summary>
    /// <param name="concludedIsDone">A job that has concluded meanwhile (a 409 saying so) needs no speed any more.</param>
    public static async Task SetSpeedAsync(HttpClient client, string job, long speed, bool concludedIsDone = false)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.PostAsync($"jobs/{job}/set-speed", new StringContent(JsonSerializer.Serialize(new { speed }), Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            if (concludedIsDone && response.StatusCode == HttpStatusCode.Conflict && body.Contains("'concluded'", StringComparison.Ordinal))
            {
                return;
            }

            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"set-speed {speed} answered {(int)response.StatusCode}: {body}");
                return;
            }

            await Task.Delay(250);
        }
    }

    public static async Task KillAsync(TempDirectory dir, string node)
    {
        var pid = int.Parse(File.ReadAllText(dir.Combine($"{node}.pid")).Trim(), CultureInfo.InvariantCulture);
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }

        await LocalClusterScript.WaitExitedAsync(pid);
    }

    public static HttpClient Client(TempDirectory dir, int port)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(dir.Combine("token")).Trim());
        return client;
    }

    public static async Task PostAsync(HttpClient client, string path, object body, HttpStatusCode expected)
    {
        using var response = await client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == expected, $"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Polls the job through <paramref name="client"/> until <paramref name="until"/> holds (null: no such job); errors while the host restarts are waited out.</summary>
    public static async Task<JsonElement?> WaitJobAsync(HttpClient client, string job, TimeSpan timeout, Func<JsonElement?, bool> until, string context)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < timeout)
        {
            try
            {
                using var response = await client.GetAsync($"jobs/{job}");
                var text = await response.Content.ReadAsStringAsync();
                last = $"{(int)response.StatusCode} {text}";
                JsonElement? found = response.StatusCode == HttpStatusCode.NotFound ? null
                    : response.IsSuccessStatusCode ? JsonDocument.Parse(text).RootElement.Clone() : throw new HttpRequestException(last);
                if (until(found))
                {
                    return found;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{context} the job did not reach the awaited state within {timeout.TotalMinutes} min; last answer: {last}");
    }

    public static long Offset(JsonElement job) => job.GetProperty("offset").GetInt64();

    public static string Status(JsonElement job) => job.GetProperty("status").GetString()!;
}
