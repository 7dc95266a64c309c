using System.Diagnostics;
using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Three in-process nodes with the real engine and one PostgreSQL journal: the host of a disk is stopped mid-merge.
/// The other nodes answer "unreachable" for it within 2 s; when the host is back (a new ActorSystem on the same
/// address), the merge resumes there by itself from its checkpoint, with no command, and completes with the content
/// intact.
/// </summary>
public sealed class HostStoppedMidMergeTests(ITestOutputHelper output) : ClusterTestKit(output, "host-stopped")
{
    private static readonly string[] Nodes = ["n1", "n2", "n3"];
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task The_host_stopped_mid_merge_is_answered_for_at_once_and_its_merge_resumes_from_its_checkpoint_when_it_is_back()
    {
        var seed = RandomChainBuilder.ChooseSeed();
        Output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
        await using var cluster = await TestCluster.StartWithEngineAsync(
            node => new EngineSettings { StorageRoots = [Folder(node)], BatchBytes = 256 * 1024, CheckpointBytes = MiB }, Nodes);
        var chain = new RandomChainBuilder(seed, Output.WriteLine).Build(Folder("n2/d1"), new ChainSpec { Layers = 3, VirtualSize = 32 * MiB, WritesPerLayer = 48 });
        var reference = chain.WriteReferenceRaw(Path.Combine(Files.Path, "d1.raw"));
        await cluster["n1"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("d1"), chain.Top, "n2"));
        await cluster["n3"].AskFrontAsync<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("d1"),
            new StreamRequest { JobId = new JobId("m1"), Speed = MiB / 4, AutoDismiss = false }));
        await EventuallyAsync(() => Assert.True(cluster["n1"].JobNow("m1").BytesCopied >= MiB, "m1 has not copied 1 MiB on n2"), TimeSpan.FromSeconds(60));
        var n1Sees = MemberEventsOn(cluster["n1"]);

        // The host stops (coordinated shutdown: its job is held at a checkpoint first).
        await cluster["n2"].StopAsync();
        foreach (var from in new[] { "n1", "n3" })
        {
            var clock = Stopwatch.StartNew();
            var refused = Assert.IsType<DiskReplies.Refused>(await cluster[from].Front.Ask<object>(new ManagerCommands.QueryJob(new JobId("m1")), TimeSpan.FromSeconds(30)));
            Output.WriteLine($"{from}: {refused.Error.Code} '{refused.Error.Message}' in {clock.ElapsedMilliseconds} ms");
            Assert.Equal("unavailable", refused.Error.Code);
            Assert.StartsWith("host n2 is unreachable", refused.Error.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"{from} took {clock.ElapsedMilliseconds} ms to say n2 is unreachable");
        }

        // Back on the same address: nobody sends d1 anything, and its merge resumes from where it was held.
        var back = await cluster.StartNodeAsync("n2");
        await cluster.WaitAllUpAsync(Nodes, TimeSpan.FromSeconds(90));
        JobResumedEvent? Resumed() => back.Events.Retained().OfType<JobResumedEvent>().SingleOrDefault(e => e.Id == "m1");
        await ExpectMemberEventAsync<Akka.Cluster.ClusterEvent.MemberUp>(n1Sees, "n2", TimeSpan.FromSeconds(30));
        await EventuallyAsync(() => Assert.True(Resumed() is not null, "m1 has not resumed on the returned n2"), TimeSpan.FromSeconds(60));
        Output.WriteLine($"m1 resumed on n2 from offset {Resumed()!.Offset}");
        Assert.True(Resumed()!.Offset >= MiB, $"m1 resumed from {Resumed()!.Offset}, not from a checkpoint past the first MiB");

        await cluster["n1"].AskFrontAsync<object>(new ManagerCommands.JobVerbById(new JobId("m1"), JobVerb.SetSpeed, 0));
        await EventuallyAsync(() => Assert.Equal("concluded", cluster["n3"].JobNow("m1").Status), TimeSpan.FromSeconds(60));
        var done = cluster["n3"].JobNow("m1");
        Assert.Equal(("n2", (string?)null), (done.Host, done.Error));
        Assert.Single((await cluster["n1"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d1")))).Chain);
        Assert.Equal(0, QemuTools.Check(chain.Top).ExitCode);
        var compare = QemuTools.Compare(chain.Top, reference, fmtB: "raw");
        Assert.True(compare.ExitCode == 0, $"d1 differs from its content before the merge ({chain.Describe()}): {compare.StdOut}{compare.StdErr}");
    }
}
