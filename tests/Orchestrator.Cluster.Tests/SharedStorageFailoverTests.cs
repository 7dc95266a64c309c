using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Cluster;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// The shared-storage failover on three in-process nodes with the real engine and one PostgreSQL journal: n2 is cut
/// off mid-merge, the split-brain resolver downs it (and it downs itself), and its disk on the shared root moves to
/// the survivor the plan picks, where the merge resumes from its checkpoint and completes with the content intact.
/// Its disk on its own storage does not move, and the job's id moves with the disk. When n2 returns, the moved disk stays
/// where it went.
/// </summary>
public sealed class SharedStorageFailoverTests(ITestOutputHelper output) : ClusterTestKit(output, "failover")
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] Nodes = ["n1", "n2", "n3"];
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task A_downed_hosts_disk_on_a_shared_root_moves_to_a_survivor_and_its_merge_resumes_from_its_checkpoint()
    {
        var seed = RandomChainBuilder.ChooseSeed();
        Output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
        var shared = Folder("shared");
        await using var cluster = await TestCluster.StartWithEngineAsync(
            node => new EngineSettings { StorageRoots = [Folder(node), shared], BatchBytes = 256 * 1024, CheckpointBytes = MiB }, [shared], Nodes);

        // d1 lies on the shared root, d2 on n2's own storage; both are n2's.
        var onShared = new RandomChainBuilder(seed, Output.WriteLine).Build(Folder("shared/d1"), new ChainSpec { Layers = 3, VirtualSize = 32 * MiB, WritesPerLayer = 48 });
        var reference = onShared.WriteReferenceRaw(Path.Combine(Files.Path, "d1.raw"));
        var ownStorage = new RandomChainBuilder(seed + 1, Output.WriteLine).Build(Folder("n2/d2"), new ChainSpec { Layers = 2, VirtualSize = 4 * MiB });
        await cluster["n1"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("d1"), onShared.Top, "n2"));
        await cluster["n3"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("d2"), ownStorage.Top, "n2"));
        Assert.NotNull(cluster["n2"].Disks.Find(new DiskId("d1")));

        // A slow merge of d1 runs on n2 until it has passed a checkpoint; slow enough that it is still running when n2
        // goes down (its offset also counts the ranges it skips, which cost nothing).
        await cluster["n3"].AskFrontAsync<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("d1"),
            new StreamRequest { JobId = new JobId("m1"), Speed = MiB / 4, AutoDismiss = false }));
        await EventuallyAsync(() => Assert.True(cluster["n1"].JobNow("m1").BytesCopied >= MiB, "m1 has not copied 1 MiB on n2"), TimeSpan.FromSeconds(60));
        var before = cluster["n1"].JobNow("m1");
        Output.WriteLine($"before the cut: m1 {before.Status} at {before.Offset} of {before.Len} ({before.BytesCopied} bytes copied) on {before.Host}");
        Assert.Equal("n2", before.Host);

        var n1Sees = MemberEventsOn(cluster["n1"]);

        // n2 is cut off from n1 and n3, both ways: keep-majority downs it, and it downs itself.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (a, b) in new[] { ("n1", "n2"), ("n3", "n2"), ("n2", "n1"), ("n2", "n3") })
        {
            await cluster[a].BlackholeAsync(cluster[b]);
        }

        var downed = cluster["n2"];
        await downed.System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(60));
        Output.WriteLine($"n2 downed itself {clock.Elapsed.TotalSeconds:0.0} s after the cut");

        // d1 opens on the survivor the plan picks, and nowhere else; the merge resumes there from a checkpoint.
        IReadOnlyList<MemberView> Members() => MemberView.Of(Akka.Cluster.Cluster.Get(cluster["n1"].System).State);
        var removed = await ExpectMemberEventAsync<Akka.Cluster.ClusterEvent.MemberRemoved>(n1Sees, "n2", TimeSpan.FromSeconds(60));
        Assert.Equal(Akka.Cluster.MemberStatus.Down, removed.PreviousStatus);
        Output.WriteLine($"n1 removed n2 {clock.Elapsed.TotalSeconds:0.0} s after the cut");
        var members = Members();
        var takerName = FailoverPlan.TakerOf("d1", shared, "n2", members);
        Assert.NotNull(takerName);
        var taker = cluster[takerName];
        var other = cluster[Nodes.Single(n => n != "n2" && n != takerName)];
        await EventuallyAsync(() => Assert.True(taker.Disks.Find(new DiskId("d1")) is not null, $"d1 is not open on {takerName}"), TimeSpan.FromSeconds(60));
        Assert.Null(other.Disks.Find(new DiskId("d1")));
        Output.WriteLine($"d1 open on {takerName} {clock.Elapsed.TotalSeconds:0.0} s after the cut");
        JobResumedEvent? Resumed() => taker.Events.Retained().OfType<JobResumedEvent>().SingleOrDefault(e => e.Id == "m1");
        await EventuallyAsync(
            () => Assert.True(Resumed() is not null,
                $"m1 has not resumed on {takerName}; its events: " + string.Join("; ", taker.Events.Retained().Select(e => e.ToString()))),
            TimeSpan.FromSeconds(30));
        var resumed = Resumed()!;
        Output.WriteLine($"m1 resumed on {takerName} from offset {resumed.Offset}, {clock.Elapsed.TotalSeconds:0.0} s after the cut");
        Assert.True(resumed.Offset >= MiB, $"m1 resumed from {resumed.Offset}, not from a checkpoint past the first MiB");

        // Both survivors route to the new host; the disk left on n2's own storage waits for n2.
        foreach (var via in new[] { taker, other })
        {
            Assert.Equal(takerName, via.JobNow("m1").Host);
            var refused = Assert.IsType<DiskReplies.Refused>(await via.Front.Ask<object>(new DiskCommands.Show(new DiskId("d2")), AskTimeout));
            Assert.Equal("unavailable", refused.Error.Code);
            Assert.Contains("host n2", refused.Error.Message, StringComparison.Ordinal);
        }

        // At full speed the merge completes on the new host, with the guest-visible content unchanged.
        await other.AskFrontAsync<object>(new ManagerCommands.JobVerbById(new JobId("m1"), JobVerb.SetSpeed, 0));
        await EventuallyAsync(() => Assert.Equal("concluded", other.JobNow("m1").Status), TimeSpan.FromSeconds(60));
        Assert.Null(other.JobNow("m1").Error);
        var info = await other.AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d1")));
        Assert.Equal((takerName, 1), (info.Host, info.Chain.Count));
        Assert.Equal(0, QemuTools.Check(onShared.Top).ExitCode);
        var compare = QemuTools.Compare(onShared.Top, reference, fmtB: "raw");
        Assert.True(compare.ExitCode == 0, $"d1 differs from its content before the merge ({onShared.Describe()}): {compare.StdOut}{compare.StdErr}");

        // The job id moved with its disk: once dismissed on the new host it is free in the fleet (while n2 is still down),
        // and a job of another disk takes it.
        Assert.IsNotType<DiskReplies.Refused>(await other.Front.Ask<object>(new ManagerCommands.JobVerbById(new JobId("m1"), JobVerb.Dismiss), AskTimeout));
        var third = new RandomChainBuilder(seed + 2, Output.WriteLine).Build(Folder($"{takerName}/d3"), new ChainSpec { Layers = 2, VirtualSize = 4 * MiB });
        await other.AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("d3"), third.Top, takerName));
        var reused = await other.AskFrontAsync<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("d3"), new StreamRequest { JobId = new JobId("m1") }));
        Assert.Equal(("m1", takerName), (reused.Job.Device, reused.Job.Host));

        // n2 comes back: d2 is served there again, d1 stays on its new host (n2's registry recorded the move).
        foreach (var survivor in new[] { taker, other })
        {
            await survivor.BlackholeAsync(downed, blackhole: false);
        }

        await cluster.StartNodeAsync("n2");
        await cluster.WaitAllUpAsync(Nodes, TimeSpan.FromSeconds(90));
        await EventuallyAsync(() => Assert.True(cluster["n2"].Disks.Find(new DiskId("d2")) is not null, "d2 is not open on the returned n2"), TimeSpan.FromSeconds(60));
        var d2 = await other.AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d2")));
        Assert.Equal("n2", d2.Host);
        var d1 = await cluster["n2"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d1")));
        Assert.Equal(takerName, d1.Host);
        Assert.Null(cluster["n2"].Disks.Find(new DiskId("d1")));
        Assert.NotNull(taker.Disks.Find(new DiskId("d1")));
    }
}
