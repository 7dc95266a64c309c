using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Persistence;
using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Every persisted event and snapshot survives Akka's serializer, built the way the decisions build it (a snapshot's chain once
/// came out as a compiler-internal array type the journal could not read back, and the disk could not recover).
/// </summary>
public sealed class EventSerializationTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serialization", WireSerialization.Config);

    public static TheoryData<int, string> EventIndexes()
    {
        var data = new TheoryData<int, string>();
        foreach (var (e, i) in Events().Select((e, i) => (e, i)))
        {
            data.Add(i, e.GetType().Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EventIndexes))]
    public void Event_round_trips_through_the_journal_serializer(int index, string name)
    {
        var original = Events().ElementAt(index);
        Assert.Equal(name, original.GetType().Name);
        var copy = RoundTrip(original);

        Assert.Equal(original.GetType(), copy.GetType());
        Assert.Equal(Describe(original), Describe(copy));
    }

    [Fact]
    public void Disk_snapshot_round_trips_through_the_snapshot_serializer()
    {
        var disk = new DiskId("vm1");
        var state = DiskState.For(disk);
        var chain = state.DecideRegister(disk, ["/d/D.qcow2", "/d/C.qcow2", "/d/B.qcow2", "/d/A.qcow2"]).Events;
        state = chain.Aggregate(state, (s, e) => s.Apply(e));
        state = state.DecideSnapshot("/d/E.qcow2").Events.Aggregate(state, (s, e) => s.Apply(e));

        // A live job with progress and a pause.
        var job = state.DecideStream(new StreamRequest { Base = "/d/A.qcow2", Speed = 5 }, 1 << 20);
        state = job.Events.Aggregate(state, (s, e) => s.Apply(e));
        var id = ((JobCreated)job.Events[0]).JobId;
        foreach (var decide in new Func<Job, Decision<JobEvent>>[] { j => j.Start(), j => j.Checkpoint(65536), j => j.Pause() })
        {
            state = decide(state.Jobs[id]).Events.Aggregate(state, (s, e) => s.Apply(e));
        }

        var original = state.ToSnapshot();
        var copy = Assert.IsType<DiskSnapshot>(RoundTrip(original));

        Assert.Equal(Describe(original), Describe(copy));
        var restored = DiskState.FromSnapshot(copy);
        Assert.Equal(65536, restored.Jobs[id].Offset);
        Assert.Equal(JobStatus.Paused, restored.Jobs[id].Status);
        Assert.Equal(["/d/E.qcow2", "/d/D.qcow2", "/d/C.qcow2", "/d/B.qcow2", "/d/A.qcow2"], restored.Chain);
        Assert.Equal(["/d/D.qcow2", "/d/C.qcow2", "/d/B.qcow2"], restored.Jobs[id].FrozenPaths);
    }

    [Fact]
    public void Every_wire_message_type_has_its_own_stable_name()
    {
        var types = new[] { typeof(IWireMessage).Assembly, typeof(DiskChainActor).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => typeof(IWireMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .ToList();

        Assert.NotEmpty(types);
        var names = types.Select(t => WireNames.NameOf(t)).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(types, t => Assert.Equal(t, WireNames.TypeOf(WireNames.NameOf(t))));
    }

    [Fact]
    public void A_manifest_no_loaded_type_declares_is_refused_naming_it()
    {
        var serializer = (WireJsonSerializer)_system.Serialization.FindSerializerForType(typeof(JobCheckpointed));

        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "job.no-such-event.v1"));

        Assert.Contains("job.no-such-event.v1", e.Message, StringComparison.Ordinal);
    }

    private object RoundTrip(object original)
    {
        var serializer = _system.Serialization.FindSerializerFor(original);
        Assert.IsType<WireJsonSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, original);
        return _system.Serialization.Deserialize(serializer.ToBinary(original), serializer.Identifier, manifest);
    }

    /// <summary>One of each persisted event, produced through the real decisions where one exists.</summary>
    private static IEnumerable<IDomainEvent> Events()
    {
        var disk = new DiskId("vm1");
        var state = DiskState.For(disk);
        var registered = state.DecideRegister(disk, ["/d/D.qcow2", "/d/C.qcow2", "/d/B.qcow2", "/d/A.qcow2"]).Events;
        state = registered.Aggregate(state, (s, e) => s.Apply(e));
        var snapshot = state.DecideSnapshot("/d/E.qcow2").Events;
        state = snapshot.Aggregate(state, (s, e) => s.Apply(e));
        var stream = state.DecideStream(new StreamRequest { Base = "/d/B.qcow2", Speed = 5 }, 1 << 20).Events;
        var job = ((JobCreated)stream[0]).ToJob();
        var committed = state.DecideCommitted(job).Events;
        return [.. registered, .. snapshot, .. stream, .. committed,
            new DiskUnregistered(disk),
            new JobUserPauseChanged(job.Id, true),
            new JobSpeedChanged(job.Id, 7),
            new JobCheckpointed(job.Id, 4096),
            new JobIoErrorRecorded(job.Id, IoStatus.Nospace, "No space left on device", IoOperation.Write, OnErrorAction.Stop),
            new JobIoStatusCleared(job.Id),
            new JobFinished(job.Id, "Input/output error", false),
            new ManagerEvents.DiskAdded("vm1"),
            new ManagerEvents.DiskRemoved("vm1")];
    }

    /// <summary>Records compare lists by reference, so compare a rendering that spells the lists out.</summary>
    private static string Describe(object e) => e switch
    {
        DiskRegistered r => $"{r.Disk}:{string.Join(",", r.Chain)}",
        ChainChanged c => $"{c.Disk}:{string.Join(",", c.Chain)}:{c.Reason}",
        JobCreated c => Describe(c.ToJob()),
        Job j => $"{j with { FrozenPaths = [] }}:{string.Join(",", j.FrozenPaths)}",
        DiskSnapshot d => $"{d.Disk}:{string.Join(",", d.Chain)}:{string.Join(";", d.Jobs.Select(Describe))}",
        _ => e.ToString()!,
    };

    public void Dispose() => _system.Terminate().Wait();
}
