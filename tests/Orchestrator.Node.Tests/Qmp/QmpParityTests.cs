using System.Text.Json.Nodes;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests.Qmp;

/// <summary>
/// One QMP script, run against qemu-storage-daemon and against a node on copies of the same chain. Replies and the
/// event sequence must be equal field by field, except the differences docs/api.md lists (the greeting's version,
/// timestamps, and query-named-block-nodes, compared on the fields both give).
/// </summary>
public sealed class QmpParityTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan _jobTimeout = TimeSpan.FromSeconds(60);
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task A_qemu_storage_daemon_script_gets_the_same_replies_and_events_from_a_node()
    {
        using var qsdFolder = new TempDirectory("qsd");
        var qsdChain = Chains.Create(qsdFolder.Path, "parity");
        var nodeChain = Chains.Create(Node.StorageRoot, "parity");
        (await Node.CliAsync("disk", "add", "vm1", nodeChain.Top)).EnsureSuccess();

        using var daemon = QemuStorageDaemon.Start(Path.Combine(qsdFolder.Path, "qmp.sock"), "vm1", qsdChain.Base, qsdChain.Mid, qsdChain.Top);
        var (qemu, ours) = await ConnectBothAsync(daemon);
        using var qemuClient = qemu;
        using var ourClient = ours;

        Assert.Equal(Version(qemu.Greeting)["major"]!.ToJsonString(), Version(ours.Greeting)["major"]!.ToJsonString());
        Assert.Equal(Version(qemu.Greeting)["minor"]!.ToJsonString(), Version(ours.Greeting)["minor"]!.ToJsonString());

        var qemuNodes = await RunScriptAsync(qemu, Path.Combine(qsdFolder.Path, "parity-snap.qcow2"));
        var ourNodes = await RunScriptAsync(ours, Node.Image("parity-snap.qcow2"));

        var expected = qemu.Transcript.Select(Normalize).ToList();
        var actual = ours.Transcript.Select(Normalize).ToList();
        Assert.True(expected.SequenceEqual(actual),
            "QMP transcripts differ.\nqemu-storage-daemon:\n" + string.Join('\n', expected) + "\nnode:\n" + string.Join('\n', actual));

        // The images both list after the stream and the snapshot have the same depth and sizes. (QEMU also keeps
        // listing nodes the script's own --blockdev created, and names the new overlay's file in json: form;
        // docs/api.md lists these differences.) Our list is exactly the disk's chain.
        var qemuSummary = Summarize(qemuNodes, qsdFolder.Path);
        var ourSummary = Summarize(ourNodes, Node.StorageRoot);
        Assert.Equal(["parity-base.qcow2 depth=0", "parity-snap.qcow2 depth=2", "parity-top.qcow2 depth=1"], ourSummary.Keys.Select(k => $"{k} depth={ourSummary[k].Depth}"));
        var common = qemuSummary.Keys.Intersect(ourSummary.Keys).ToList();
        Assert.Contains("parity-base.qcow2", common);
        Assert.Contains("parity-top.qcow2", common);
        foreach (var file in common)
        {
            Assert.True(qemuSummary[file] == ourSummary[file], $"{file}: qemu-storage-daemon {qemuSummary[file]}, node {ourSummary[file]}");
        }

        // Both streamed the same data: the guest views are equal (once the daemon let go of its images).
        daemon.Dispose();
        var check = QemuTools.Check(nodeChain.Top);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        var compare = QemuTools.Compare(nodeChain.Top, qsdChain.Top);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
    }

    /// <summary>
    /// The job verbs on a running job, and block-stream's other fields: a rate-limited stream (speed, on-error,
    /// auto-dismiss false) that is slowed down, paused, queried, resumed, cancelled and dismissed; then a stream with
    /// `base` as a file name and `backing-file` to its end. Offsets depend on timing, so they are compared as "between 0
    /// and len"; everything else field by field, the replies in order and the events in order.
    /// </summary>
    [Fact]
    public async Task The_job_verbs_on_a_running_stream_get_the_same_replies_and_events_from_a_node()
    {
        using var qsdFolder = new TempDirectory("qsd-verbs");
        var qsdChain = SlowChain.Create(qsdFolder.Path, "verbs");
        var nodeChain = SlowChain.Create(Node.StorageRoot, "verbs");
        (await Node.CliAsync("disk", "add", "vm2", nodeChain.Top)).EnsureSuccess();

        using var daemon = QemuStorageDaemon.Start(Path.Combine(qsdFolder.Path, "qmp.sock"), "vm2",
            qsdChain.Base, Path.Combine(qsdFolder.Path, "verbs-mid.qcow2"), qsdChain.Top);
        var (qemu, ours) = await ConnectBothAsync(daemon);
        using var qemuClient = qemu;
        using var ourClient = ours;

        await RunJobVerbScriptAsync(qemu, qsdChain.Base);
        await RunJobVerbScriptAsync(ours, nodeChain.Base);

        // QEMU sends the events a verb causes before or after the verb's reply depending on whether the job slept in
        // its rate limit or was in I/O at that moment (run to run, it differs); so the replies are compared in order,
        // and the events in order, but not how the two interleave.
        var expected = qemu.Transcript.Select(NormalizeJobMessage).ToList();
        var actual = ours.Transcript.Select(NormalizeJobMessage).ToList();
        static bool IsEvent(string m) => m.StartsWith("event ", StringComparison.Ordinal);
        Assert.True(expected.Where(IsEvent).SequenceEqual(actual.Where(IsEvent)) && expected.Where(m => !IsEvent(m)).SequenceEqual(actual.Where(m => !IsEvent(m))),
            "QMP transcripts differ.\nqemu-storage-daemon:\n" + string.Join('\n', expected) + "\nnode:\n" + string.Join('\n', actual));

        // The second stream wrote the same backing file name and the same data on both sides.
        daemon.Stop();
        var qemuInfo = QemuTools.InfoJson(qsdChain.Top, backingChain: false);
        var ourInfo = QemuTools.InfoJson(nodeChain.Top, backingChain: false);
        Assert.Contains("\"backing-filename\": \"verbs-base.qcow2\"", qemuInfo, StringComparison.Ordinal);
        Assert.Contains("\"backing-filename\": \"verbs-base.qcow2\"", ourInfo, StringComparison.Ordinal);
        var check = QemuTools.Check(nodeChain.Top);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        var compare = QemuTools.Compare(nodeChain.Top, qsdChain.Top);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
    }

    private static async Task RunJobVerbScriptAsync(QmpClient qmp, string basePath)
    {
        await qmp.ExecuteAsync("qmp_capabilities");
        await qmp.ExecuteAsync("block-stream", new JsonObject
        {
            ["device"] = "vm2",
            ["base-node"] = "verbs-base.qcow2",
            ["job-id"] = "job1",
            ["speed"] = 1024 * 1024,
            ["on-error"] = "stop",
            ["auto-dismiss"] = false,
        });
        await qmp.ExecuteAsync("block-job-set-speed", new JsonObject { ["device"] = "job1", ["speed"] = 512 * 1024 });
        await qmp.ExecuteAsync("block-job-pause", new JsonObject { ["device"] = "job1" });
        await qmp.WaitForEventAsync(e => Status(e) == "paused", _jobTimeout);
        await PauseWaitAsync(qmp);
        await qmp.ExecuteAsync("block-job-resume", new JsonObject { ["device"] = "job1" });
        await qmp.WaitForEventAsync(e => Status(e) == "running", _jobTimeout);
        await qmp.ExecuteAsync("block-job-cancel", new JsonObject { ["device"] = "job1" });
        await qmp.WaitForEventAsync(e => Status(e) == "concluded", _jobTimeout);
        await qmp.ExecuteAsync("query-block-jobs");
        await qmp.ExecuteAsync("block-job-dismiss", new JsonObject { ["id"] = "job1" });
        await qmp.WaitForEventAsync(e => Status(e) == "null", _jobTimeout);
        await qmp.ExecuteAsync("query-block-jobs");

        await qmp.ExecuteAsync("block-stream", new JsonObject
        {
            ["device"] = "vm2",
            ["job-id"] = "job2",
            ["base"] = basePath,
            ["backing-file"] = "verbs-base.qcow2",
            ["on-error"] = "ignore",
        });
        await qmp.WaitForEventAsync(e => Status(e) == "null", _jobTimeout);
        await qmp.ExecuteAsync("query-block-jobs");
    }

    /// <summary>
    /// As QEMU's iotests (030's pause_wait): query-block-jobs until the paused job says busy=false, its copy stopped;
    /// only that last answer stays in the transcript. (QEMU reports paused at its pause point; a node at once, and
    /// busy until its batch in flight is done: docs/api.md lists this.)
    /// </summary>
    private static async Task PauseWaitAsync(QmpClient qmp)
    {
        var deadline = DateTime.UtcNow + _jobTimeout;
        while (true)
        {
            var reply = await qmp.ExecuteAsync("query-block-jobs");
            if (reply["return"]!.AsArray().All(j => !j!["busy"]!.GetValue<bool>()) || DateTime.UtcNow > deadline)
            {
                return;
            }

            qmp.Transcript.RemoveAt(qmp.Transcript.Count - 1);
            await Task.Delay(20);
        }
    }

    private static string? Status(JsonObject message) =>
        message["event"]!.GetValue<string>() == "JOB_STATUS_CHANGE" ? message["data"]!["status"]!.GetValue<string>() : null;

    /// <summary>As <see cref="Normalize"/>, with each job's offset replaced by where it lies: 0, between, or len.</summary>
    private static string NormalizeJobMessage(JsonObject message)
    {
        var copy = JsonNode.Parse(message.ToJsonString())!.AsObject();
        var jobs = copy["return"] as JsonArray ?? (copy["event"] is null ? [] : new JsonArray(copy["data"]!.DeepClone()));
        foreach (var job in jobs.OfType<JsonObject>().Where(j => j.ContainsKey("offset") && j.ContainsKey("len")))
        {
            var offset = job["offset"]!.GetValue<long>();
            var len = job["len"]!.GetValue<long>();
            job["offset"] = offset == 0 ? "0" : offset == len ? "len" : offset < len ? "between" : "past len";
        }

        if (copy["event"] is not null && jobs.Count == 1)
        {
            copy["data"] = jobs[0]!.DeepClone();
        }
        else if (copy["return"] is JsonArray)
        {
            // A JSON object's members have no order: QEMU and a node list a job's fields differently.
            copy["return"] = new JsonArray([.. jobs.Select(j => (JsonNode)new JsonObject(
                j!.AsObject().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))))]);
        }

        return Normalize(copy);
    }

    /// <summary>The script; returns query-named-block-nodes' answer, which is compared separately.</summary>
    private static async Task<JsonArray> RunScriptAsync(QmpClient qmp, string snapshotFile)
    {
        await qmp.ExecuteAsync("query-block-jobs");
        await qmp.ExecuteAsync("qmp_capabilities");
        await qmp.ExecuteAsync("qmp_capabilities");
        await qmp.ExecuteAsync("frobnicate");
        await qmp.ExecuteAsync("query-block-jobs");
        await qmp.ExecuteAsync("block-job-pause", new JsonObject { ["device"] = "nojob" });
        await qmp.ExecuteAsync("block-job-dismiss", new JsonObject { ["id"] = "nojob" });
        await qmp.ExecuteAsync("block-stream", Stream(j => j["on-error"] = "bogus"));
        await qmp.ExecuteAsync("block-stream", Stream(j => j["bogus"] = 1));
        await qmp.ExecuteAsync("block-stream", Stream(j => j["speed"] = "fast"));
        await qmp.ExecuteAsync("block-stream", Stream(j => j["job-id"] = "1bad"));
        await qmp.ExecuteAsync("block-stream", Stream(j => j["base-node"] = "nonode"));
        await qmp.ExecuteAsync("block-stream", Stream(j => j["device"] = "nodev"));
        await qmp.ExecuteAsync("block-stream", Stream(_ => { }));
        await qmp.WaitForEventAsync(e => e["event"]!.GetValue<string>() == "JOB_STATUS_CHANGE" && e["data"]!["status"]!.GetValue<string>() == "null", _jobTimeout);
        await qmp.ExecuteAsync("query-block-jobs");
        await qmp.ExecuteAsync("blockdev-snapshot-sync", new JsonObject
        {
            ["node-name"] = "vm1",
            ["snapshot-file"] = snapshotFile,
            ["snapshot-node-name"] = "snap1",
            ["format"] = "qcow2",
        });
        var nodes = await qmp.ExecuteAsync("query-named-block-nodes");
        qmp.Transcript.RemoveAt(qmp.Transcript.Count - 1);
        return nodes["return"]!.AsArray();
    }

    private static JsonObject Stream(Action<JsonObject> change)
    {
        var arguments = new JsonObject { ["device"] = "vm1", ["base-node"] = "parity-base.qcow2", ["job-id"] = "job0" };
        change(arguments);
        return arguments;
    }

    /// <summary>A QMP client of the daemon and one of the node.</summary>
    private async Task<(QmpClient Qemu, QmpClient Ours)> ConnectBothAsync(QemuStorageDaemon daemon)
    {
        var qemu = await QmpClient.ConnectAsync(daemon.SocketPath, TimeSpan.FromSeconds(30));
        try
        {
            return (qemu, await QmpClient.ConnectAsync(Path.Combine(Node.DataDirectory, "qmp.sock"), TimeSpan.FromSeconds(30)));
        }
        catch
        {
            qemu.Dispose();
            throw;
        }
    }

    private static JsonNode Version(JsonObject greeting) => greeting["QMP"]!["version"]!["qemu"]!;

    /// <summary>A reply as is; an event without its timestamp, with its data's fields in order.</summary>
    private static string Normalize(JsonObject message)
    {
        if (!message.ContainsKey("event"))
        {
            return message.ToJsonString();
        }

        var data = message["data"]!.AsObject().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value?.ToJsonString()}");
        return $"event {message["event"]} {{{string.Join(", ", data)}}}";
    }

    /// <summary>The qcow2 nodes by file name (relative to the folder), with what both sides give: depth, size, cluster size.</summary>
    private static SortedDictionary<string, (long Depth, long Size, long Cluster)> Summarize(JsonArray nodes, string folder)
    {
        var summary = new SortedDictionary<string, (long, long, long)>(StringComparer.Ordinal);
        foreach (var node in nodes.Select(n => n!.AsObject()).Where(n => n["drv"]!.GetValue<string>() == "qcow2"))
        {
            var file = node["file"]!.GetValue<string>();
            if (!file.StartsWith("json:", StringComparison.Ordinal))
            {
                summary[Path.GetRelativePath(folder, file)] = (node["backing_file_depth"]!.GetValue<long>(),
                    node["image"]!["virtual-size"]!.GetValue<long>(), node["image"]!["cluster-size"]!.GetValue<long>());
            }
        }

        return summary;
    }
}
