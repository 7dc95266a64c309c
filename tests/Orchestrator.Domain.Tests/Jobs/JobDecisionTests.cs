using static Orchestrator.Domain.Jobs.JobStatus;
using static Orchestrator.Domain.Tests.Jobs.TestJobs;

namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>The job aggregate's decisions, checked against QEMU's job.c/blockjob.c behaviour and qemu-iotests 030.</summary>
public sealed class JobDecisionTests
{
    [Fact]
    public void CreateStartsInCreatedWithQemuDefaults()
    {
        var job = NewJob();

        Assert.Equal(Created, job.Status);
        Assert.Equal(0, job.Offset);
        Assert.Equal(0, job.Speed);
        Assert.Equal(IoStatus.Ok, job.IoStatus);
        Assert.True(job.AutoFinalize);
        Assert.True(job.AutoDismiss);
        Assert.True(job.IsLive);
        Assert.False(job.UserPaused);
        Assert.Null(job.Error);
    }

    [Fact]
    public void CreateWithNegativeSpeedIsRefused()
    {
        var template = NewJob() with { Status = Undefined, Speed = -1 };

        var decision = Job.Create(template);

        Assert.True(decision.Refused);
        Assert.Equal("invalid-parameter", decision.Error!.Code);
        Assert.Equal("Invalid parameter 'speed'", decision.Error.Message);
    }

    [Fact]
    public void SuccessRunsCreatedRunningWaitingPendingConcludedNull()
    {
        var job = Accept(NewJob(), j => j.Start(), out var started);
        job = Accept(job, j => j.Succeed(), out var finished);

        Assert.Equal([Running], Statuses(started));
        Assert.Equal([Waiting, Pending, Concluded, Null], Statuses(finished));
        Assert.Equal(Null, job.Status);
        Assert.Equal(Length, job.Offset);
        Assert.Null(job.Error);
        Assert.False(job.Cancelled);
    }

    [Fact]
    public void SuccessEmitsCompletedAfterPendingAndBeforeConcluded()
    {
        // QEMU: created, running, waiting, pending, then BLOCK_JOB_COMPLETED, then concluded.
        Accept(RunningJob(), j => j.Succeed(), out var events);

        var finished = Assert.Single(events.OfType<JobFinished>());
        var list = events.ToList();
        var pending = list.FindIndex(e => e is JobStatusChanged { Status: Pending });
        var concluded = list.FindIndex(e => e is JobStatusChanged { Status: Concluded });
        Assert.InRange(list.IndexOf(finished), pending + 1, concluded - 1);
        Assert.Null(finished.Error);
        Assert.False(finished.Cancelled);
    }

    [Fact]
    public void WithoutAutoDismissSuccessStopsAtConcludedUntilDismiss()
    {
        var job = Accept(RunningJob(autoDismiss: false), j => j.Succeed(), out var finished);

        Assert.Equal([Waiting, Pending, Concluded], Statuses(finished));
        Assert.Equal(Concluded, job.Status);
        Assert.False(job.IsLive);

        job = Accept(job, j => j.Dismiss(), out var dismissed);
        Assert.Equal([Null], Statuses(dismissed));
        Assert.Equal(Null, job.Status);
    }

    [Fact]
    public void StartIsRefusedUnlessCreated()
    {
        Assert.Equal("wrong-state", Refuse(RunningJob(), j => j.Start()).Code);
        Assert.Equal("wrong-state", Refuse(PausedJob(), j => j.Start()).Code);
    }

    [Fact]
    public void SucceedIsRefusedBeforeTheJobRan()
    {
        Assert.Equal("wrong-state", Refuse(NewJob(), j => j.Succeed()).Code);
    }

    [Fact]
    public void APauseAfterTheLastPausePointDoesNotHoldBackACommittedJob()
    {
        // The copy finished and the header was rewritten just as the user paused: the job still completes.
        var job = Accept(PausedJob(), j => j.Succeed());
        Assert.Equal(JobStatus.Null, job.Status);
        Assert.False(job.UserPaused);
    }

    [Fact]
    public void PauseOfRunningJobPausesIt()
    {
        var job = Accept(RunningJob(), j => j.Pause(), out var events);

        Assert.Equal([Paused], Statuses(events));
        Assert.Equal(Paused, job.Status);
        Assert.True(job.UserPaused);
        Assert.False(job.ShouldCopy);
        Assert.True(JobInfo.From(job, busy: false).Paused);
        Assert.Equal("paused", JobInfo.From(job, busy: false).Status);
    }

    [Fact]
    public void PauseTwiceIsRefused()
    {
        var error = Refuse(PausedJob(), j => j.Pause());

        Assert.Equal("wrong-state", error.Code);
        Assert.Equal("Job is already paused", error.Message);
    }

    [Fact]
    public void PauseTwiceBeforeStartIsRefused()
    {
        var job = Accept(NewJob(), j => j.Pause());

        Assert.Equal("Job is already paused", Refuse(job, j => j.Pause()).Message);
    }

    [Fact]
    public void ResumeOfJobThatWasNotPausedIsRefused()
    {
        var error = Refuse(RunningJob(), j => j.Resume());

        Assert.Equal("wrong-state", error.Code);
        Assert.Equal("Can't resume a job that was not paused", error.Message);
        Assert.Equal("Can't resume a job that was not paused", Refuse(NewJob(), j => j.Resume()).Message);
    }

    [Fact]
    public void ResumeOfPausedJobRunsItAgain()
    {
        var job = Accept(PausedJob(), j => j.Resume(), out var events);

        Assert.Equal([Running], Statuses(events));
        Assert.Equal(Running, job.Status);
        Assert.False(job.UserPaused);
        Assert.True(job.ShouldCopy);
    }

    [Fact]
    public void PauseBeforeStartThenStartRunsThenPauses()
    {
        var job = Accept(NewJob(), j => j.Pause(), out var paused);
        Assert.Empty(Statuses(paused));
        Assert.Equal(Created, job.Status);
        Assert.True(job.UserPaused);

        job = Accept(job, j => j.Start(), out var started);
        Assert.Equal([Running, Paused], Statuses(started));
        Assert.Equal(Paused, job.Status);
        Assert.True(job.UserPaused);
    }

    [Fact]
    public void ResumeBeforeStartLetsStartRun()
    {
        var job = Accept(Accept(NewJob(), j => j.Pause()), j => j.Resume());
        Assert.Equal(Created, job.Status);
        Assert.False(job.UserPaused);

        job = Accept(job, j => j.Start(), out var started);
        Assert.Equal([Running], Statuses(started));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1L << 20)]
    public void SetSpeedRecordsTheValue(long speed)
    {
        var job = Accept(RunningJob(), j => j.SetSpeed(speed));

        Assert.Equal(speed, job.Speed);
        Assert.Equal(speed, JobInfo.From(job, busy: true).Speed);
    }

    [Fact]
    public void SetSpeedIsAcceptedWhilePausedAndBeforeStart()
    {
        Assert.Equal(7, Accept(PausedJob(), j => j.SetSpeed(7)).Speed);
        Assert.Equal(7, Accept(NewJob(), j => j.SetSpeed(7)).Speed);
    }

    [Fact]
    public void NegativeSpeedIsRefusedAndTheOldValueKept()
    {
        var job = Accept(RunningJob(), j => j.SetSpeed(1024));

        var error = Refuse(job, j => j.SetSpeed(-1));

        Assert.Equal("invalid-parameter", error.Code);
        Assert.Equal("Invalid parameter 'speed'", error.Message);
        Assert.Equal(1024, job.Speed);
    }

    [Fact]
    public void CancelOfRunningJobAbortsAndConcludes()
    {
        var job = Accept(RunningJob(), j => j.Cancel(), out var cancelled);
        Assert.Equal([Aborting], Statuses(cancelled));
        Assert.Empty(cancelled.OfType<JobFinished>());

        // BLOCK_JOB_CANCELLED only once the copy has really stopped, as in QEMU.
        job = Accept(job, j => j.CancelStopped(), out var events);
        Assert.Equal([Concluded, Null], Statuses(events));
        Assert.Equal(Null, job.Status);
        Assert.True(job.Cancelled);
        Assert.Null(job.Error);
        Assert.True(Assert.Single(events.OfType<JobFinished>()).Cancelled);
    }

    [Fact]
    public void CancelOfPausedJobResumesItThenAborts()
    {
        var job = Accept(PausedJob(), j => j.Cancel(), out var events);
        job = Accept(job, j => j.CancelStopped(), out var stopped);

        Assert.Equal([Running, Aborting], Statuses(events));
        Assert.Equal([Concluded, Null], Statuses(stopped));
        Assert.True(job.Cancelled);
        Assert.False(job.UserPaused);
        Assert.Null(job.Error);
    }

    [Fact]
    public void CancelOfCreatedJobAbortsWithoutRunning()
    {
        var job = Accept(NewJob(), j => j.Cancel(), out var events);
        job = Accept(job, j => j.CancelStopped());

        Assert.Equal([Aborting], Statuses(events));
        Assert.Equal(Null, job.Status);
        Assert.True(job.Cancelled);
    }

    [Fact]
    public void CancelWithoutAutoDismissStaysConcludedUntilDismiss()
    {
        var job = Accept(PausedJob(autoDismiss: false), j => j.Cancel(), out var events);
        job = Accept(job, j => j.CancelStopped());

        Assert.Equal([Running, Aborting], Statuses(events));
        Assert.Equal(Concluded, job.Status);
        Assert.True(job.Cancelled);
        Assert.Null(job.Error);
        Assert.Equal(Null, Accept(job, j => j.Dismiss()).Status);
    }

    [Fact]
    public void CancelStoppedIsRefusedUnlessTheJobIsAborting()
    {
        Assert.Equal("wrong-state", Refuse(RunningJob(), j => j.CancelStopped()).Code);
    }

    public static TheoryData<string> LiveStates() => ["created", "running", "paused"];

    [Theory]
    [MemberData(nameof(LiveStates))]
    public void DismissIsRefusedUnlessConcluded(string state)
    {
        var job = state switch
        {
            "created" => NewJob(autoDismiss: false),
            "running" => RunningJob(autoDismiss: false),
            _ => PausedJob(autoDismiss: false),
        };

        var error = Refuse(job, j => j.Dismiss());

        Assert.Equal("wrong-state", error.Code);
        Assert.Equal($"Job 'job0' in state '{state}' cannot accept command verb 'dismiss'", error.Message);
    }

    [Fact]
    public void VerbsOnConcludedJobAreRefusedWithQemusWording()
    {
        var job = Accept(RunningJob(autoDismiss: false), j => j.Succeed());

        Assert.Equal("Job 'job0' in state 'concluded' cannot accept command verb 'pause'", Refuse(job, j => j.Pause()).Message);
        Assert.Equal("Job 'job0' in state 'concluded' cannot accept command verb 'set-speed'", Refuse(job, j => j.SetSpeed(1)).Message);
        Assert.Equal("Job 'job0' in state 'concluded' cannot accept command verb 'cancel'", Refuse(job, j => j.Cancel()).Message);
    }

    [Fact]
    public void IoErrorWithReportRecordsTheErrorAndTheCopyStoppingFailsTheJob()
    {
        var reported = Accept(RunningJob(autoDismiss: false), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false), out var recorded);

        // Until the copy has stopped the job is still running (QEMU: BLOCK_JOB_ERROR, then the coroutine returns).
        Assert.Empty(Statuses(recorded));
        Assert.Equal(Running, reported.Status);
        Assert.Equal(IoStatus.Ok, reported.IoStatus);
        Assert.Equal(OnErrorAction.Report, Assert.Single(recorded.OfType<JobIoErrorRecorded>()).Action);

        var job = Accept(reported, j => j.Fail("Input/output error"), out var events);
        Assert.Equal([Aborting, Concluded], Statuses(events));
        Assert.Equal(Concluded, job.Status);
        Assert.Equal("Input/output error", job.Error);
        Assert.False(job.Cancelled);
        Assert.Equal("Input/output error", Assert.Single(events.OfType<JobFinished>()).Error);
    }

    [Fact]
    public void IoErrorWithIgnoreKeepsRunningAndRecordsTheError()
    {
        var job = Accept(RunningJob(OnErrorPolicy.Ignore), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false), out var events);

        // QEMU sets io-status only for the stop action, and shows the error only once the job finishes with it;
        // the error is remembered by the event (and by the runner, which fails the job with it at the end).
        Assert.Empty(Statuses(events));
        Assert.Equal(Running, job.Status);
        Assert.True(job.ShouldCopy);
        Assert.Equal(IoStatus.Ok, job.IoStatus);
        Assert.Null(job.Error);
        Assert.Equal("Input/output error", Assert.Single(events.OfType<JobIoErrorRecorded>()).Error);
        Assert.Equal(OnErrorAction.Ignore, Assert.Single(events.OfType<JobIoErrorRecorded>()).Action);
    }

    [Fact]
    public void IoErrorWithIgnoreCompletesWithTheErrorAtFullOffset()
    {
        // iotests 030: on-error ignore completes with the error and offset = len.
        var job = Accept(RunningJob(OnErrorPolicy.Ignore, autoDismiss: false), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false));
        job = Accept(job, j => j.Checkpoint(Length));
        job = Accept(job, j => j.Fail("Input/output error"));

        Assert.Equal(Concluded, job.Status);
        Assert.Equal(Length, job.Offset);
        Assert.Equal("Input/output error", job.Error);
    }

    [Fact]
    public void IoErrorWithStopPausesWithIoStatusFailed()
    {
        var job = Accept(RunningJob(OnErrorPolicy.Stop), j => j.IoError("Input/output error", IoOperation.Write, noSpace: false), out var events);

        Assert.Equal([Paused], Statuses(events));
        Assert.Equal(Paused, job.Status);
        Assert.True(job.UserPaused);
        Assert.Equal(IoStatus.Failed, job.IoStatus);
        var recorded = Assert.Single(events.OfType<JobIoErrorRecorded>());
        Assert.Equal(OnErrorAction.Stop, recorded.Action);
        Assert.Equal(IoOperation.Write, recorded.Operation);

        job = Accept(job, j => j.Resume(), out var resumed);
        Assert.Equal([Running], Statuses(resumed));
        Assert.Equal(IoStatus.Ok, job.IoStatus);
        Assert.False(job.UserPaused);
        Assert.True(job.ShouldCopy);
    }

    [Fact]
    public void IoErrorWithEnospcOnNoSpacePausesWithIoStatusNospace()
    {
        var job = Accept(RunningJob(OnErrorPolicy.Enospc), j => j.IoError("No space left on device", IoOperation.Write, noSpace: true), out var events);

        Assert.Equal([Paused], Statuses(events));
        Assert.True(job.UserPaused);
        Assert.Equal(IoStatus.Nospace, job.IoStatus);
        Assert.Equal(OnErrorAction.Stop, Assert.Single(events.OfType<JobIoErrorRecorded>()).Action);

        job = Accept(job, j => j.Resume());
        Assert.Equal(Running, job.Status);
        Assert.Equal(IoStatus.Ok, job.IoStatus);
    }

    [Fact]
    public void IoErrorWithEnospcOnOtherErrorFailsLikeReport()
    {
        var enospc = Accept(RunningJob(OnErrorPolicy.Enospc, autoDismiss: false), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false), out var events);
        var report = Accept(RunningJob(OnErrorPolicy.Report, autoDismiss: false), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false), out var reported);

        Assert.Equal(Statuses(reported), Statuses(events));
        Assert.Equal(report.Status, enospc.Status);
        Assert.Equal(report.Error, enospc.Error);
        Assert.Equal(report.Cancelled, enospc.Cancelled);
        Assert.Equal(OnErrorAction.Report, Assert.Single(events.OfType<JobIoErrorRecorded>()).Action);
    }

    [Theory]
    [InlineData(OnErrorPolicy.Stop, false)]
    [InlineData(OnErrorPolicy.Enospc, true)]
    public void IoErrorThatStoppedTheJobThenResumeCompletesClean(OnErrorPolicy policy, bool noSpace)
    {
        // iotests 030: "stop (pauses with io-status failed, resume completes clean)"; enospc likewise.
        // QEMU only reports an error for a job whose ret is non-zero; a retried range leaves ret at 0.
        var job = Accept(RunningJob(policy, autoDismiss: false), j => j.IoError("Input/output error", IoOperation.Read, noSpace));
        job = Accept(job, j => j.Resume());
        job = Accept(job, j => j.Succeed(), out var events);

        Assert.Equal(Concluded, job.Status);
        Assert.Null(Assert.Single(events.OfType<JobFinished>()).Error);
        Assert.Null(job.Error);
        Assert.Null(JobInfo.From(job, busy: false).Error);
    }

    [Fact]
    public void IoErrorWithStopOnAUserPausedJobKeepsItPaused()
    {
        // The user paused while a chunk was in flight and that chunk failed. QEMU's block_job_error_action
        // pauses only "if (!job->job.user_paused)" and sets the io-status either way: no paused -> paused.
        var job = PausedJob(OnErrorPolicy.Stop);

        job = Accept(job, j => j.IoError("Input/output error", IoOperation.Read, noSpace: false));

        Assert.Equal(Paused, job.Status);
        Assert.True(job.UserPaused);
        Assert.Equal(IoStatus.Failed, job.IoStatus);
    }

    [Fact]
    public void IoErrorWithReportOnAPausedJobFailsItWhenTheCopyStops()
    {
        var reported = Accept(PausedJob(), j => j.IoError("Input/output error", IoOperation.Read, noSpace: false), out var recorded);
        Assert.Empty(Statuses(recorded));
        Assert.Equal(Paused, reported.Status);

        var job = Accept(reported, j => j.Fail("Input/output error"), out var events);
        Assert.Equal([Running, Aborting, Concluded, Null], Statuses(events));
        Assert.Equal("Input/output error", job.Error);
    }

    [Fact]
    public void CheckpointNeverMovesTheOffsetBackwards()
    {
        var job = Accept(RunningJob(), j => j.Checkpoint(2 << 20));
        Assert.Equal(2 << 20, job.Offset);

        job = Accept(job, j => j.Checkpoint(1 << 20));
        Assert.Equal(2 << 20, job.Offset);

        job = Accept(job, j => j.Checkpoint(3 << 20));
        Assert.Equal(3 << 20, job.Offset);
    }
}
