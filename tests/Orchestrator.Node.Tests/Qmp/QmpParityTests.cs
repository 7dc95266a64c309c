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
        using var qemu = await QmpClient.ConnectAsync(daemon.SocketPath, TimeSpan.FromSeconds(30));
        using var ours = await QmpClient.ConnectAsync(Path.Combine(Node.DataDirectory, "qmp.sock"), TimeSpan.FromSeconds(30));

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
