using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>Jobs that share nothing run at once: on different disks, and on disjoint segments of one chain (030 TestParallelOps).</summary>
public sealed class ParallelStreamTests : EngineTestBase
{
    [Fact]
    public async Task Streams_on_two_disks_run_in_parallel_and_both_complete()
    {
        var first = BuildChain(Directory.CreateDirectory(PathOf("one")).FullName, 16 * MiB, seed: 41);
        var second = BuildChain(Directory.CreateDirectory(PathOf("two")).FullName, 16 * MiB, seed: 42);
        var rawOne = ImageAssert.CaptureRaw(first[^1], PathOf("one.raw"));
        var rawTwo = ImageAssert.CaptureRaw(second[^1], PathOf("two.raw"));
        await Register(new DiskId("one"), first[^1]);
        await Register(new DiskId("two"), second[^1]);

        await Stream(new DiskId("one"), new StreamRequest { Speed = 8 * MiB });
        await Stream(new DiskId("two"), new StreamRequest { Base = second[0], Speed = 8 * MiB });
        var all = await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.QueryAllJobs());
        Assert.Equal(["one", "two"], all.Jobs.Select(j => j.Device));
        var disks = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Equal([1, 1], disks.Disks.Select(d => d.LiveJobs));

        Assert.Null((await WaitCompleted("one")).Error);
        Assert.Null((await WaitCompleted("two")).Error);

        Assert.Equal([first[^1]], (await Show(new DiskId("one"))).Chain);
        Assert.Equal([second[^1], second[0]], (await Show(new DiskId("two"))).Chain);
        ImageAssert.CheckClean(first[^1]);
        ImageAssert.CheckClean(second[^1]);
        ImageAssert.SameGuestView(first[^1], rawOne);
        ImageAssert.SameGuestView(second[^1], rawTwo);
    }

    [Fact]
    public async Task Four_streams_over_disjoint_segments_of_one_chain_all_complete()
    {
        // 030 test_stream_parallel: A..I, streams into C (base A), E (base C), G (base E) and the active I (base G).
        var chain = BuildChain(Dir, 16 * MiB, seed: 43, layers: 9);
        var top = chain[^1];
        var disk = new DiskId("vm1");
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        var views = new Dictionary<string, string>();
        foreach (var name in new[] { "C", "E", "G" })
        {
            views[name] = ImageAssert.CaptureRaw(PathOf(name + ".qcow2"), PathOf(name + ".raw"));
        }

        await Register(disk, top);

        // The active image's job is the slowest, so that the others commit while it still copies.
        await Stream(disk, new StreamRequest { Base = "G.qcow2", Speed = 4 * MiB });
        await Stream(disk, new StreamRequest { Top = "C.qcow2", Base = "A.qcow2", JobId = new JobId("stream-c") });
        await Stream(disk, new StreamRequest { Top = "E.qcow2", Base = "C.qcow2", JobId = new JobId("stream-e") });
        await Stream(disk, new StreamRequest { Top = "G.qcow2", Base = "E.qcow2", JobId = new JobId("stream-g") });

        foreach (var job in new[] { "stream-c", "stream-e", "stream-g", "vm1" })
        {
            var completed = await WaitCompleted(job);
            Assert.True(completed.Error is null, $"{job}: {completed.Error}");
        }

        var expected = new[] { "I", "G", "E", "C", "A" }.Select(n => PathOf(n + ".qcow2"));
        Assert.Equal(expected, (await Show(disk)).Chain);
        Assert.Empty(Node.RunEvents().OfType<BlockJobErrorEvent>());
        foreach (var image in chain)
        {
            ImageAssert.CheckClean(image);
        }

        ImageAssert.SameGuestView(top, before);
        foreach (var (name, raw) in views)
        {
            ImageAssert.SameGuestView(PathOf(name + ".qcow2"), raw);
        }
    }

    [Fact]
    public async Task Active_stream_keeps_running_when_an_intermediate_stream_commits_on_the_same_disk()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 44, layers: 6);
        var top = chain[^1];
        var disk = new DiskId("vm1");
        var before = ImageAssert.CaptureRaw(top, PathOf("before.raw"));
        await Register(disk, top);

        // F (active) onto D, slowly; meanwhile C onto A finishes and commits (the live chain is reopened).
        await Stream(disk, new StreamRequest { Base = "D.qcow2", Speed = 4 * MiB });
        await Stream(disk, new StreamRequest { Top = "C.qcow2", Base = "A.qcow2", JobId = new JobId("stream-c") });
        Assert.Null((await WaitCompleted("stream-c")).Error);

        var completed = await WaitCompleted("vm1");
        Assert.Null(completed.Error);
        var expected = new[] { "F", "D", "C", "A" }.Select(n => PathOf(n + ".qcow2"));
        Assert.Equal(expected, (await Show(disk)).Chain);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, before);
    }
}
