using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Every persisted event survives Akka's serializer, built the way the decisions build it (a snapshot's chain once
/// came out as a compiler-internal array type the journal could not read back, and the disk could not recover).
/// </summary>
public sealed class EventSerializationTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serialization");

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
        var serializer = _system.Serialization.FindSerializerFor(original);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, original);
        var copy = _system.Serialization.Deserialize(serializer.ToBinary(original), serializer.Identifier, manifest);

        Assert.Equal(original.GetType(), copy.GetType());
        Assert.Equal(Describe(original), Describe(copy));
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
        var job = ((JobCreated)stream[0]).Job;
        var committed = state.DecideCommitted(job).Events;
        return [.. registered, .. snapshot, .. stream, .. committed,
            new DiskUnregistered(disk),
            new JobUserPauseChanged(job.Id, true),
            new JobSpeedChanged(job.Id, 7),
            new JobCheckpointed(job.Id, 4096),
            new JobIoErrorRecorded(job.Id, IoStatus.Nospace, "No space left on device", "write", "stop"),
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
        JobCreated c => $"{c.Job with { FrozenPaths = [] }}:{string.Join(",", c.Job.FrozenPaths)}",
        _ => e.ToString()!,
    };

    public void Dispose() => _system.Terminate().Wait();
}
