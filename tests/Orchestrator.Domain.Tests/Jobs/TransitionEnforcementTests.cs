using Orchestrator.Domain.Disks;
using static Orchestrator.Domain.Jobs.JobStatus;
using static Orchestrator.Domain.Tests.Jobs.TestJobs;

namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>
/// QEMU's transition table holds on every path that changes a job, not only in ApplyAll: the decisions refuse before
/// anything is persisted, <see cref="Job.Apply"/> and <see cref="DiskState.Apply"/> (what the actor folds) throw.
/// </summary>
public sealed class TransitionEnforcementTests
{
    public static TheoryData<JobStatus, JobStatus> IllegalSteps()
    {
        var data = new TheoryData<JobStatus, JobStatus>();
        foreach (var from in Enum.GetValues<JobStatus>().Where(s => s != Undefined))
        {
            foreach (var to in Enum.GetValues<JobStatus>().Where(to => !JobTransitions.CanTransition(from, to)))
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(IllegalSteps))]
    public void Job_apply_refuses_every_step_outside_the_table(JobStatus from, JobStatus to)
    {
        var job = NewJob() with { Status = from };

        var e = Assert.Throws<InvalidOperationException>(() => job.Apply(new JobStatusChanged(job.Id, to)));

        Assert.Contains($"{QemuNames.Of(from)} -> {QemuNames.Of(to)}", e.Message);
    }

    [Fact]
    public void Disk_state_apply_checks_the_step_to_null_too()
    {
        var disk = new DiskId("vda");
        var state = DiskState.For(disk);
        state = state.DecideRegister(disk, ["/vm/top.qcow2", "/vm/base.qcow2"]).Events.Aggregate(state, (s, e) => s.Apply(e));
        var created = state.DecideStream(new StreamRequest(), 1 << 20);
        state = created.Events.Aggregate(state, (s, e) => s.Apply(e));
        var id = state.Jobs.Keys.Single();
        state = state.Jobs[id].Start().Events.Aggregate(state, (s, e) => s.Apply(e));

        // A running job cannot vanish: running -> null is not in job.c's table (it once was dropped silently).
        Assert.Throws<InvalidOperationException>(() => state.Apply(new JobStatusChanged(id, Null)));
        Assert.Equal(Running, state.Jobs[id].Status);
    }

    [Fact]
    public void Problem_names_the_first_illegal_step()
    {
        JobEvent[] events = [new JobStatusChanged(Id, Paused), new JobStatusChanged(Id, Concluded)];

        Assert.Equal($"Job '{Id}' cannot move from 'paused' to 'concluded'", JobTransitions.Problem(Id, Running, events));
        Assert.Null(JobTransitions.Problem(Id, Running, events.Take(1)));
    }

    [Theory]
    [InlineData(Concluded)]
    [InlineData(Null)]
    [InlineData(Undefined)]
    public void A_job_that_is_not_live_takes_no_checkpoint(JobStatus status)
    {
        var job = NewJob(autoDismiss: false) with { Status = status };

        Assert.Equal("wrong-state", Refuse(job, j => j.Checkpoint(65536)).Code);
    }

    [Fact]
    public void Engine_decisions_on_an_aborting_job_are_refused_not_folded()
    {
        var aborting = Accept(RunningJob(), j => j.Cancel());

        // The commit and a failure cannot overtake a cancel: the job ends only through CancelStopped.
        Assert.Equal("wrong-state", Refuse(aborting, j => j.Succeed()).Code);
        Assert.Equal("wrong-state", Refuse(aborting, j => j.Fail("late")).Code);
        Assert.Equal("wrong-state", Refuse(aborting, j => j.Start()).Code);
        Assert.Equal([Concluded, Null], Statuses(Accept(aborting, j => j.CancelStopped(), out var events) is { } ? events : []));
    }
}
