using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// The correctness core of the live engine: guest writers and readers race a stream job (with pauses, speed changes
/// and snapshots at random moments) against a byte-exact model of the guest disk. Whatever the interleaving, every
/// guest read returns the model, and at the end the active image equals the model per qemu-img compare.
/// </summary>
public sealed class GuestModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new("live");

    [Theory]
    [InlineData(65536, 0)]
    [InlineData(4096, 1)]
    [InlineData(65536, 2)]
    public async Task Guest_io_racing_a_stream_matches_the_model(int clusterSize, int variant)
    {
        var seed = SeedFor(variant);
        output.WriteLine($"seed {seed} (set ORCH_TEST_SEED to reproduce), cluster size {clusterSize}");
        var random = new Random(seed);
        const long size = 24L * 1024 * 1024;
        var chain = EngineFixture.BuildChain(_dir.Path, size, random.Next(), clusterSize: clusterSize);
        var model = EngineFixture.GuestView(chain[^1]);

        var settings = new EngineSettings { StorageRoots = [_dir.Path], BatchBytes = 256 * 1024, CheckpointBytes = 1024 * 1024 };
        using var system = ActorSystem.Create("live", EngineFixture.SqliteConfig(Path.Combine(_dir.Path, "journal.db"), "WARNING"));
        Cluster.ClusterOfOne.Join(system, EngineNode.DefaultName);
        var events = new EventHub();
        var disks = new LocalDisks();
        var (manager, _) = DiskEngine.Start(system, settings, events, disks, EngineNode.DefaultName);
        var disk = new DiskId("guest");
        await Ask<DiskReplies.DiskInfo>(manager, new DiskCommands.Register(disk, chain[^1]), seed);
        var live = disks.Find(disk) ?? throw new InvalidOperationException($"seed {seed}: disk '{disk}' is registered but not open");

        var modelGate = new object();
        var operations = 0;
        var done = new CancellationTokenSource();
        var guests = Enumerable.Range(0, 2).Select(g => Task.Run(() =>
        {
            var r = new Random(seed * 31 + g);
            var buffer = new byte[256 * 1024];
            while (!done.IsCancellationRequested)
            {
                var length = r.Next(4) == 0 ? r.Next(1, 512) * 512 : r.Next(1, 9) * 512;
                var offset = r.NextInt64(0, (size - length) / 512) * 512;
                lock (modelGate)
                {
                    switch (r.Next(10))
                    {
                        case < 5:
                            r.NextBytes(buffer.AsSpan(0, length));
                            live.Write(offset, buffer.AsSpan(0, length));
                            buffer.AsSpan(0, length).CopyTo(model.AsSpan((int)offset));
                            break;
                        case < 6:
                            live.WriteZeroes(offset, length);
                            model.AsSpan((int)offset, length).Clear();
                            break;
                        default:
                            live.Read(offset, buffer.AsSpan(0, length));
                            if (!buffer.AsSpan(0, length).SequenceEqual(model.AsSpan((int)offset, length)))
                            {
                                throw new InvalidOperationException($"seed {seed}: guest read at {offset}+{length} differs from the model");
                            }

                            break;
                    }

                    operations++;
                }
            }
        })).ToList();

        // The stream and the control plane act at random moments while the guests run.
        await Task.Delay(random.Next(10, 100));
        var job = await Ask<DiskReplies.JobStarted>(manager, new DiskCommands.Stream(disk, new StreamRequest { Base = chain[0], Speed = 8L * 1024 * 1024 }), seed);
        var snapshots = 0;
        var finished = false;
        for (var step = 0; step < 400 && !finished; step++)
        {
            await Task.Delay(random.Next(5, 25));
            var verb = random.Next(10);
            var reply = verb switch
            {
                0 => await manager.Ask<object>(new DiskCommands.JobVerbCommand(disk, new JobId("guest"), JobVerb.Pause), TimeSpan.FromSeconds(10)),
                1 => await manager.Ask<object>(new DiskCommands.JobVerbCommand(disk, new JobId("guest"), JobVerb.Resume), TimeSpan.FromSeconds(10)),
                2 => await manager.Ask<object>(new DiskCommands.JobVerbCommand(disk, new JobId("guest"), JobVerb.SetSpeed, random.Next(0, 3) * 16L * 1024 * 1024), TimeSpan.FromSeconds(10)),
                3 => await manager.Ask<object>(new DiskCommands.Snapshot(disk, Path.Combine(_dir.Path, $"snap{snapshots++}.qcow2")), TimeSpan.FromSeconds(10)),
                _ => null,
            };
            if (verb == 3 && reply is DiskReplies.Refused refused)
            {
                // While the stream writes the active image a snapshot is refused as busy, naming the job.
                Assert.Equal("busy", refused.Error.Code);
                Assert.Contains("'guest'", refused.Error.Message, StringComparison.Ordinal);
                snapshots--;
            }

            finished = events.Retained().Any(e => e is BlockJobCompletedEvent or BlockJobCancelledEvent);
        }

        await manager.Ask<object>(new DiskCommands.JobVerbCommand(disk, new JobId("guest"), JobVerb.SetSpeed, 0), TimeSpan.FromSeconds(10));
        await manager.Ask<object>(new DiskCommands.JobVerbCommand(disk, new JobId("guest"), JobVerb.Resume), TimeSpan.FromSeconds(10));
        await WaitFor(events, e => e is BlockJobCompletedEvent, seed, manager);
        Assert.Null(events.Retained().OfType<BlockJobCompletedEvent>().Single().Error);

        // After the stream, a snapshot must succeed and guest I/O must go on into the new active image.
        var final = await Ask<DiskReplies.DiskInfo>(manager, new DiskCommands.Snapshot(disk, Path.Combine(_dir.Path, "final.qcow2")), seed);
        // Keep the guests going until enough operations ran, including some after the final snapshot.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Volatile.Read(ref operations) < 3000 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await done.CancelAsync();
        await Task.WhenAll(guests);
        live.Flush();
        output.WriteLine($"{operations} guest operations; job {job.Job.Device}; chain now {string.Join(" -> ", final.Chain.Select(Path.GetFileName))}");
        Assert.True(operations >= 3000, $"seed {seed}: only {operations} guest operations ran");

        var active = final.Chain[0];
        var reference = Path.Combine(_dir.Path, "model.raw");
        await File.WriteAllBytesAsync(reference, model);
        await system.Terminate();
        Assert.Equal(0, QemuTools.Check(chain[^1]).ExitCode);
        Assert.Equal(0, QemuTools.Check(active).ExitCode);
        var compare = QemuTools.Compare(active, reference, "qcow2", "raw");
        Assert.True(compare.ExitCode == 0, $"seed {seed}: qemu-img compare: {compare.StdOut}{compare.StdErr}");
        using var top = Qcow2Image.Open(chain[^1], ImageOpenOptions.ReadOnly());
        Assert.Equal("A.qcow2", top.Header.BackingFileName);
    }

    private static int SeedFor(int variant) =>
        int.TryParse(Environment.GetEnvironmentVariable(RandomChainBuilder.SeedVariable), out var fixedSeed)
            ? fixedSeed + variant
            : Random.Shared.Next(1, int.MaxValue / 64);

    private static async Task WaitFor(EventHub events, Func<BlockJobEvent, bool> match, int seed, IActorRef manager)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await foreach (var e in events.Subscribe(0, timeout.Token))
            {
                if (match(e))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            var jobs = await manager.Ask<object>(new ManagerCommands.QueryAllJobs(), TimeSpan.FromSeconds(10));
            throw new TimeoutException($"seed {seed}: the awaited job event never came; jobs: {string.Join("; ", ((DiskReplies.JobList)jobs).Jobs)}; "
                + $"events: {string.Join(", ", events.Retained().Select(e => e is JobStatusChangeEvent s ? s.Status : e.Event))}");
        }
    }

    private static async Task<T> Ask<T>(IActorRef actor, object message, int seed)
    {
        var reply = await actor.Ask<object>(message, TimeSpan.FromSeconds(30));
        return reply is DiskReplies.Refused refused
            ? throw new InvalidOperationException($"seed {seed}: {message.GetType().Name} refused: {refused.Error.Code}: {refused.Error.Message}")
            : (T)reply;
    }



    public void Dispose() => _dir.Dispose();
}
