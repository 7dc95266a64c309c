using Orchestrator.Domain.Disks;

namespace Orchestrator.Domain.Tests.Disks;

/// <summary>Builds disk states through their own decisions and checks every job event against job.c's table on the way.</summary>
internal static class TestDisks
{
    public const long Length = 1L << 30;

    public static readonly DiskId Disk = new("vda");

    /// <summary>Absolute paths so the disk state's full-path comparison sees them unchanged.</summary>
    public static string Img(string name) => $"/vm/{name}.qcow2";

    public static IReadOnlyList<string> Chain(params string[] names) => [.. names.Select(Img)];

    public static DiskState Registered(params string[] names) =>
        Accept(DiskState.For(Disk), s => s.DecideRegister(Disk, Chain(names)));

    public static DiskState Accept(DiskState state, Func<DiskState, Decision<IDomainEvent>> decide)
    {
        var decision = decide(state);
        Assert.False(decision.Refused, decision.Error?.Message);
        return ApplyAll(state, decision.Events);
    }

    public static DomainError Refuse(DiskState state, Func<DiskState, Decision<IDomainEvent>> decide)
    {
        var decision = decide(state);
        Assert.True(decision.Refused, $"expected a refusal, got {decision.Events.Count} events");
        Assert.Empty(decision.Events);
        return decision.Error!;
    }

    public static DiskState Stream(DiskState state, string? top, string? @base, string? jobId = null, bool autoDismiss = true) =>
        Accept(state, s => s.DecideStream(Request(top, @base, jobId, autoDismiss), Length));

    public static StreamRequest Request(string? top, string? @base, string? jobId = null, bool autoDismiss = true) => new()
    {
        Top = top is null ? null : Img(top),
        Base = @base is null ? null : Img(@base),
        JobId = jobId is null ? null : new JobId(jobId),
        AutoDismiss = autoDismiss,
    };

    /// <summary>Runs a job decision and folds its events into the disk state, as the disk actor does.</summary>
    public static DiskState Drive(DiskState state, string jobId, Func<Job, Decision<JobEvent>> decide)
    {
        var job = state.Jobs[new JobId(jobId)];
        var decision = decide(job);
        Assert.False(decision.Refused, decision.Error?.Message);
        job.ApplyAll(decision.Events);
        return ApplyAll(state, decision.Events);
    }

    private static DiskState ApplyAll(DiskState state, IEnumerable<IDomainEvent> events)
    {
        foreach (var e in events)
        {
            if (e is JobStatusChanged s && state.Jobs.TryGetValue(s.JobId, out var job) && job.Status != JobStatus.Undefined)
            {
                Assert.True(JobTransitions.CanTransition(job.Status, s.Status), $"illegal job transition {job.Status} -> {s.Status}");
            }

            state = state.Apply(e);
        }

        return state;
    }
}
