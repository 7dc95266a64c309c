namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>Builds jobs the way the disk actor does (Create, then ApplyAll) so every status change passes job.c's table.</summary>
internal static class TestJobs
{
    public const long Length = 4L << 20;

    public static readonly JobId Id = new("job0");

    public static Job NewJob(OnErrorPolicy onError = OnErrorPolicy.Report, bool autoDismiss = true, long speed = 0)
    {
        var template = new Job
        {
            Id = Id,
            Type = JobType.Stream,
            Disk = new DiskId("disk0"),
            TopPath = "/vm/top.qcow2",
            BasePath = "/vm/base.qcow2",
            Length = Length,
            Speed = speed,
            OnError = onError,
            AutoDismiss = autoDismiss,
        };
        var created = Job.Create(template);
        Assert.False(created.Refused, created.Error?.Message);
        return template.ApplyAll(created.Events);
    }

    public static Job RunningJob(OnErrorPolicy onError = OnErrorPolicy.Report, bool autoDismiss = true) =>
        Accept(NewJob(onError, autoDismiss), j => j.Start());

    public static Job PausedJob(OnErrorPolicy onError = OnErrorPolicy.Report, bool autoDismiss = true) =>
        Accept(RunningJob(onError, autoDismiss), j => j.Pause());

    /// <summary>Decides, asserts it was accepted, and folds the events (ApplyAll throws on an illegal transition).</summary>
    public static Job Accept(Job job, Func<Job, Decision<JobEvent>> decide) => Accept(job, decide, out _);

    public static Job Accept(Job job, Func<Job, Decision<JobEvent>> decide, out IReadOnlyList<JobEvent> events)
    {
        var decision = decide(job);
        Assert.False(decision.Refused, decision.Error?.Message);
        events = decision.Events;
        return job.ApplyAll(decision.Events);
    }

    public static DomainError Refuse(Job job, Func<Job, Decision<JobEvent>> decide)
    {
        var decision = decide(job);
        Assert.True(decision.Refused, $"expected a refusal, got {decision.Events.Count} events");
        Assert.Empty(decision.Events);
        return decision.Error!;
    }

    public static JobStatus[] Statuses(IEnumerable<JobEvent> events) =>
        [.. events.OfType<JobStatusChanged>().Select(s => s.Status)];
}
