using Akka.Actor;
using Akka.TestKit.Xunit2;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>Stream jobs through real actors, a real SQLite journal and real qcow2 files.</summary>
public sealed class StreamJobTests : TestKit
{
    private readonly TempDirectory _dir;
    private readonly EventHub _events = new();
    private readonly IActorRef _manager;
    private readonly ITestOutputHelper _output;

    public StreamJobTests(ITestOutputHelper output)
        : this(new TempDirectory("engine"), output)
    {
    }

    private StreamJobTests(TempDirectory dir, ITestOutputHelper output)
        : base(SqliteConfig(Path.Combine(dir.Path, "journal.db")), "engine-test", output)
    {
        _dir = dir;
        _output = output;
        var settings = new EngineSettings { StorageRoots = [dir.Path], BatchBytes = 1024 * 1024, CheckpointBytes = 2 * 1024 * 1024 };
        ClusterOfOne.Join(Sys, EngineNode.DefaultName);
        (_manager, _) = DiskEngine.Start(Sys, settings, _events, new LocalDisks(), EngineNode.DefaultName);
    }

    [Fact]
    public async Task Stream_with_base_copies_what_the_top_lacks_and_rewrites_the_chain()
    {
        var chain = BuildChain(_dir.Path, 16 * 1024 * 1024, seed: 11);
        var before = GuestView(chain[^1]);
        var disk = new DiskId("vm1");
        var info = await AskOk<DiskReplies.DiskInfo>(_manager, new DiskCommands.Register(disk, chain[^1]));
        Assert.Equal(4, info.Chain.Count);

        var started = await AskOk<DiskReplies.JobStarted>(_manager, new DiskCommands.Stream(disk, new StreamRequest { Base = chain[0] }));
        Assert.Equal("vm1", started.Job.Device);
        await WaitForEvent("BLOCK_JOB_COMPLETED");

        var after = await AskOk<DiskReplies.DiskInfo>(_manager, new DiskCommands.Show(disk));
        Assert.Equal([chain[^1], chain[0]], after.Chain);
        Assert.Equal(before, GuestView(chain[^1]));
        var events = _events.Retained().OfType<JobStatusChangeEvent>().Select(e => e.Status).ToList();
        Assert.Equal(["created", "running", "waiting", "pending", "concluded", "null"], events);
        Assert.Null(_events.Retained().OfType<BlockJobCompletedEvent>().Single().Error);
        using var image = Qcow2Image.Open(chain[^1], ImageOpenOptions.ReadOnly());
        Assert.Equal("A.qcow2", image.Header.BackingFileName);
    }

    private async Task WaitForEvent(string name)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var e in _events.Subscribe(0, cts.Token))
        {
            _output.WriteLine($"{e.Sequence} {e.Event} {e}");
            if (e.Event == name)
            {
                // The events published with it (the job's last statuses) are still on their way through the event log.
                await _events.DrainAsync(TimeSpan.FromSeconds(15));
                return;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _dir.Dispose();
        }
    }
}
