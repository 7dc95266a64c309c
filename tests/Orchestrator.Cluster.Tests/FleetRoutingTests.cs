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
/// The real engine on three in-process nodes (one cluster, one PostgreSQL database): disks registered on a host
/// through another node, every command from every node reaching the disk's entity on its host, fleet-wide lists
/// with each item's host, disk ids and job ids unique in the fleet, and a stopped host answered for within 2 s.
/// </summary>
public sealed class FleetRoutingTests(ITestOutputHelper output) : ClusterTestKit(output, "fleet")
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] Nodes = ["n1", "n2", "n3"];

    [Fact]
    public async Task Disk_commands_from_every_node_reach_the_disk_on_its_host()
    {
        var seed = RandomChainBuilder.ChooseSeed();
        Output.WriteLine($"seed {seed} (set {RandomChainBuilder.SeedVariable} to reproduce)");
        await using var cluster = await TestCluster.StartWithEngineAsync(
            node => new EngineSettings { StorageRoots = [Folder(node)], BatchBytes = 256 * 1024, CheckpointBytes = 1024 * 1024 }, Nodes);

        // Disk dN lives on nN's storage and is registered through another node, naming its host.
        var chains = new Dictionary<string, BuiltChain>();
        for (var i = 0; i < Nodes.Length; i++)
        {
            var host = Nodes[i];
            var chain = new RandomChainBuilder(seed + i, Output.WriteLine).Build(Directory.CreateDirectory(Path.Combine(Folder(host), "d" + (i + 1))).FullName,
                new ChainSpec { Layers = 3, VirtualSize = 4L * 1024 * 1024 });
            chains["d" + (i + 1)] = chain;
            var via = cluster[Nodes[(i + 1) % Nodes.Length]];
            var info = await via.AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("d" + (i + 1)), chain.Top, host));
            Assert.Equal(3, info.Chain.Count);
        }

        foreach (var (disk, host) in chains.Keys.Select((d, i) => (d, Nodes[i])))
        {
            // The entity runs on its host: the chain is open there and nowhere else.
            Assert.NotNull(cluster[host].Disks.Find(new DiskId(disk)));
            Assert.All(Nodes.Where(n => n != host), n => Assert.Null(cluster[n].Disks.Find(new DiskId(disk))));
            foreach (var from in Nodes)
            {
                var shown = await cluster[from].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId(disk)));
                Assert.Equal(chains[disk].Top, shown.ActivePath);
            }
        }

        foreach (var from in Nodes)
        {
            var list = await cluster[from].AskFrontAsync<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
            Assert.Equal(["d1@n1", "d2@n2", "d3@n3"], list.Disks.Select(d => $"{d.Disk}@{d.Host}"));
        }

        // Disk ids are unique in the fleet: d2 again, on another host, is refused naming its host.
        var twin = await cluster["n1"].Front.Ask<object>(new DiskCommands.Register(new DiskId("d2"), chains["d1"].Top, "n3"), AskTimeout);
        var conflict = Assert.IsType<DiskReplies.Refused>(twin);
        Assert.Equal("conflict", conflict.Error.Code);
        Assert.Contains("host n2", conflict.Error.Message);

        // A stream started from n3 runs on n2; n1 sees the job with its host, then the chain rewritten.
        var started = await cluster["n3"].AskFrontAsync<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("d2"), new StreamRequest { JobId = new JobId("s2"), AutoDismiss = false }));
        Assert.Equal(("s2", "n2"), (started.Job.Device, started.Job.Host));
        await EventuallyAsync(() =>
        {
            var jobs = cluster["n1"].AskFrontAsync<DiskReplies.JobList>(new ManagerCommands.QueryAllJobs()).GetAwaiter().GetResult();
            Output.WriteLine(string.Join(", ", jobs.Jobs.Select(j => $"{j.Device}@{j.Host}:{j.Status}")));
            var s2 = Assert.Single(jobs.Jobs, j => j.Device == "s2");
            Assert.Equal(("n2", "concluded"), (s2.Host, s2.Status));
        }, TimeSpan.FromSeconds(60));
        var byId = await cluster["n3"].AskFrontAsync<DiskReplies.JobList>(new ManagerCommands.QueryJob(new JobId("s2")));
        Assert.Null(Assert.Single(byId.Jobs).Error);
        Assert.Equal("n2", byId.Jobs[0].Host);
        Assert.Single((await cluster["n1"].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d2")))).Chain);
        Assert.Equal(0, QemuTools.Check(chains["d2"].Top).ExitCode);

        // n2 looks s2 up once (and remembers its disk), so its later query of s2 finds that memory stale.
        Assert.Equal("n2", cluster["n2"].JobNow("s2").Host);

        // Job ids are unique in the fleet: s2 (concluded, not dismissed, on n2) is refused for a disk of n1, naming its
        // holder; once dismissed, the id is free, and a job of n1 takes it.
        var taken = Assert.IsType<DiskReplies.Refused>(await cluster["n1"].Front.Ask<object>(
            new DiskCommands.Stream(new DiskId("d1"), new StreamRequest { JobId = new JobId("s2") }), AskTimeout));
        Assert.Equal("conflict", taken.Error.Code);
        Assert.Contains("disk 'd2' on host n2", taken.Error.Message);
        Assert.IsNotType<DiskReplies.Refused>(await cluster["n3"].Front.Ask<object>(new ManagerCommands.JobVerbById(new JobId("s2"), JobVerb.Dismiss), AskTimeout));
        var reused = await cluster["n3"].AskFrontAsync<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("d1"), new StreamRequest { JobId = new JobId("s2"), AutoDismiss = false }));
        Assert.Equal(("s2", "n1"), (reused.Job.Device, reused.Job.Host));
        await EventuallyAsync(() =>
        {
            // The job s2, now of d1, concludes on n1 as seen from n2.
            var job = cluster["n2"].JobNow("s2");
            Assert.Equal(("n1", "concluded"), (job.Host, job.Status));
        }, TimeSpan.FromSeconds(60));

        // n3 stops: commands for its disk are refused from the others within 2 s, naming it; the others still answer.
        await cluster["n3"].StopAsync();
        foreach (var from in new[] { "n1", "n2" })
        {
            var watch = Stopwatch.StartNew();
            var refused = Assert.IsType<DiskReplies.Refused>(await cluster[from].Front.Ask<object>(new DiskCommands.Show(new DiskId("d3")), AskTimeout));
            watch.Stop();
            Output.WriteLine($"{from}: {refused.Error.Code} '{refused.Error.Message}' in {watch.ElapsedMilliseconds} ms");
            Assert.Equal("unavailable", refused.Error.Code);
            Assert.StartsWith("host n3 is unreachable", refused.Error.Message);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the refusal took {watch.ElapsedMilliseconds} ms");
            Assert.Equal(chains["d1"].Top, (await cluster[from].AskFrontAsync<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("d1")))).ActivePath);
        }
    }
}
