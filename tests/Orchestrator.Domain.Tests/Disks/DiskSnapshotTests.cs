using Orchestrator.Domain.Disks;
using static Orchestrator.Domain.Tests.Disks.TestDisks;

namespace Orchestrator.Domain.Tests.Disks;

/// <summary>
/// A disk's snapshot is its whole state: recovery from a snapshot taken after any event, followed by the events after
/// it, must give the state a full replay gives. The history exercises every kind of event a disk persists.
/// </summary>
public sealed class DiskSnapshotTests
{
    [Fact]
    public void SnapshotRoundTripKeepsChainJobsAndOffsets()
    {
        var state = Replay(History());
        Assert.Equal(2, state.Jobs.Count);

        var restored = DiskState.FromSnapshot(state.ToSnapshot());

        Assert.Equal(Render(state), Render(restored));
        Assert.Equal(state.Disk, restored.Disk);
        Assert.Equal(state.Chain, restored.Chain);
        Assert.Equal(12L << 20, restored.Jobs[new JobId("vda")].Offset);
        Assert.True(restored.Jobs[new JobId("vda")].UserPaused);
        Assert.Equal(IoStatus.Nospace, restored.Jobs[new JobId("mid")].IoStatus);
    }

    [Fact]
    public void SnapshotAfterAnyEventThenTheRestEqualsAFullReplay()
    {
        var history = History();
        var full = Render(Replay(history));

        for (var taken = 0; taken <= history.Count; taken++)
        {
            var snapshot = Replay(history.Take(taken)).ToSnapshot();
            var recovered = history.Skip(taken).Aggregate(DiskState.FromSnapshot(snapshot), (s, e) => s.Apply(e));
            Assert.True(full == Render(recovered), $"snapshot after {taken} of {history.Count} events recovered a different state");
        }
    }

    [Fact]
    public void SnapshotHoldsConcreteListsAndNoSharedStateWithTheDisk()
    {
        var state = Replay(History());

        var snapshot = state.ToSnapshot();

        // The serializer writes the runtime type: it must be one it can read back.
        Assert.IsType<List<string>>(snapshot.Chain);
        Assert.All(snapshot.Jobs, j => Assert.IsType<List<string>>(j.FrozenPaths));
        snapshot.Chain.Clear();
        Assert.NotEmpty(state.Chain);
    }

    [Fact]
    public void SnapshotOfAnUnregisteredDiskRestoresAnUnregisteredDisk()
    {
        var state = Accept(Registered("D", "A"), s => s.DecideUnregister());

        var restored = DiskState.FromSnapshot(state.ToSnapshot());

        Assert.False(restored.Registered);
        Assert.Equal(Disk, restored.Disk);
        Assert.Empty(restored.Jobs);
    }

    /// <summary>
    /// Register D..A, snapshot E, a stream E -> C with checkpoints, a speed change and a pause, a stream of C into A
    /// stopped by ENOSPC, and a finished job that is gone again.
    /// </summary>
    private static List<IDomainEvent> History()
    {
        var events = new List<IDomainEvent>();
        var state = DiskState.For(Disk);

        void Take(Decision<IDomainEvent> decision)
        {
            Assert.False(decision.Refused, decision.Error?.Message);
            foreach (var e in decision.Events)
            {
                events.Add(e);
                state = state.Apply(e);
            }
        }

        void OnJob(string id, Func<Job, Decision<JobEvent>> decide)
        {
            var decision = decide(state.Jobs[new JobId(id)]);
            Take(new Decision<IDomainEvent>([.. decision.Events], decision.Error));
        }

        Take(state.DecideRegister(Disk, Chain("D", "C", "B", "A")));
        Take(state.DecideSnapshot(Img("E")));
        Take(state.DecideStream(Request(null, "A", jobId: "done"), Length));
        OnJob("done", j => j.Start());
        OnJob("done", j => j.Checkpoint(Length / 2));
        OnJob("done", j => j.Succeed());
        Take(state.DecideStream(Request(null, "C"), Length));
        OnJob("vda", j => j.Start());
        for (var mib = 4L; mib <= 12; mib += 4)
        {
            OnJob("vda", j => j.Checkpoint(mib << 20));
        }

        OnJob("vda", j => j.SetSpeed(1 << 20));
        OnJob("vda", j => j.Pause());
        Take(state.DecideStream(Request("C", "A", jobId: "mid") with { OnError = OnErrorPolicy.Enospc }, Length));
        OnJob("mid", j => j.Start());
        OnJob("mid", j => j.IoError("No space left on device", IoOperation.Write, noSpace: true));
        return events;
    }

    private static DiskState Replay(IEnumerable<IDomainEvent> events) =>
        events.Aggregate(DiskState.For(Disk), (s, e) => s.Apply(e));

    /// <summary>Records compare lists by reference: render the state with its lists spelled out.</summary>
    private static string Render(DiskState state) =>
        $"{state.Disk}|{string.Join(",", state.Chain)}|"
        + string.Join(";", state.Jobs.OrderBy(kv => kv.Key.Value, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key}={kv.Value with { FrozenPaths = [] }}:{string.Join(",", kv.Value.FrozenPaths)}"));
}
