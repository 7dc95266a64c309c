using Orchestrator.Domain.Disks;
using static Orchestrator.Domain.Tests.Disks.TestDisks;

namespace Orchestrator.Domain.Tests.Disks;

/// <summary>
/// A disk's chain and jobs: block-stream's argument checks (blockdev.c), the busy rule for overlapping jobs
/// (qemu-iotests 030 TestParallelOps), snapshot, unregister and the chain after a commit.
/// Chains are written active image first: [D, C, B, A] is A &lt;- B &lt;- C &lt;- D.
/// </summary>
public sealed class DiskStateTests
{
    [Fact]
    public void RegisterRecordsTheChain()
    {
        var state = Registered("D", "C", "B", "A");

        Assert.True(state.Registered);
        Assert.Equal(Disk, state.Disk);
        Assert.Equal(Chain("D", "C", "B", "A"), state.Chain);
        Assert.Equal(Img("D"), state.ActivePath);
        Assert.Empty(state.Jobs);
    }

    [Fact]
    public void SecondRegisterIsRefusedAsConflict()
    {
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideRegister(Disk, Chain("X")));

        Assert.Equal("conflict", error.Code);
    }

    [Fact]
    public void StreamOnUnregisteredDiskIsRefusedAsNotFound()
    {
        var error = Refuse(DiskState.For(Disk), s => s.DecideStream(Request(null, null), Length));

        Assert.Equal("not-found", error.Code);
    }

    [Theory]
    [InlineData("D", "X")] // not in the chain at all
    [InlineData("D", "D")] // the top itself
    [InlineData("C", "D")] // above the top
    [InlineData("C", "C")]
    public void StreamWithBaseThatIsNotBelowTheTopIsRefused(string top, string @base)
    {
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideStream(Request(top, @base, jobId: "j"), Length));

        Assert.Equal("invalid-parameter", error.Code);
        Assert.Contains("is not a backing image", error.Message, StringComparison.Ordinal);
        Assert.Empty(state.Jobs);
    }

    [Fact]
    public void StreamWithUnknownTopIsRefusedAsNotFound()
    {
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideStream(Request("nonexistent", null, jobId: "j"), Length));

        Assert.Equal("not-found", error.Code);
        Assert.Contains(Img("nonexistent"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BackingFileWithoutBaseIsRefused()
    {
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideStream(Request(null, null) with { BackingFile = "A.qcow2" }, Length));

        Assert.Equal("invalid-parameter", error.Code);
        Assert.Equal("backing file specified, but streaming the entire chain", error.Message);
    }

    [Fact]
    public void BackingFileWithBaseIsKeptOnTheJob()
    {
        var state = Registered("D", "C", "B", "A");

        state = Accept(state, s => s.DecideStream(Request(null, "B") with { BackingFile = "B.qcow2" }, Length));

        Assert.Equal("B.qcow2", Assert.Single(state.Jobs.Values).BackingFileString);
    }

    [Fact]
    public void NegativeSpeedIsRefused()
    {
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideStream(Request(null, "B") with { Speed = -1 }, Length));

        Assert.Equal("invalid-parameter", error.Code);
        Assert.Equal("Invalid parameter 'speed'", error.Message);
    }

    [Fact]
    public void JobIdDefaultsToTheDiskId()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B");

        var job = Assert.Single(state.Jobs.Values);
        Assert.Equal(new JobId("vda"), job.Id);
        Assert.Equal(JobStatus.Created, job.Status);
        Assert.Equal(Img("D"), job.TopPath);
        Assert.Equal(Img("B"), job.BasePath);
        Assert.Equal(Length, job.Length);
    }

    [Fact]
    public void StreamIntoAnIntermediateImageWithoutJobIdIsRefused()
    {
        // iotests 030 test_job_id_missing: block-stream device=mid without job-id fails ("Invalid job ID ''"):
        // the default is the device name, and an image below the active one has none.
        var state = Registered("D", "C", "B", "A");

        var error = Refuse(state, s => s.DecideStream(Request("C", "A"), Length));

        Assert.Equal("invalid-parameter", error.Code);
    }

    [Fact]
    public void StreamIntoAnIntermediateImageWithItsOwnJobIdIsAccepted()
    {
        var state = Stream(Registered("D", "C", "B", "A"), "C", "A", jobId: "stream-mid");

        var job = Assert.Single(state.Jobs.Values);
        Assert.Equal(new JobId("stream-mid"), job.Id);
        Assert.Equal(Img("C"), job.TopPath);
        Assert.Equal([Img("B")], job.FrozenPaths);
    }

    [Fact]
    public void DuplicateLiveJobIdIsRefused()
    {
        // B..A does not overlap D..C, so only the id can be the reason.
        var state = Stream(Registered("D", "C", "B", "A"), "D", "B", jobId: "j");

        var error = Refuse(state, s => s.DecideStream(Request("B", "A", jobId: "j"), Length));

        Assert.Equal("conflict", error.Code);
        Assert.Equal("Job ID 'j' already in use", error.Message);
    }

    [Fact]
    public void ConcludedJobKeepsItsIdUntilDismissed()
    {
        // QEMU's job_get still finds a concluded job until job-dismiss.
        var state = Stream(Registered("D", "C", "B", "A"), "D", "B", jobId: "j", autoDismiss: false);
        state = Drive(state, "j", j => j.Start());
        state = Drive(state, "j", j => j.Succeed());

        Assert.Equal("conflict", Refuse(state, s => s.DecideStream(Request("D", "B", jobId: "j"), Length)).Code);

        state = Drive(state, "j", j => j.Dismiss());
        Assert.Empty(state.Jobs);
        state = Stream(state, "D", "B", jobId: "j");
        Assert.Single(state.Jobs);
    }

    [Fact]
    public void JobHoldsTopAndFreezesImagesDownToButNotIncludingTheBase()
    {
        var state = Stream(Registered("D", "C", "B", "A"), "D", "B", jobId: "job1");
        var job = state.Jobs[new JobId("job1")];

        Assert.Equal([Img("C")], job.FrozenPaths);
        Assert.Same(job, state.HolderOf(Img("D")));
        Assert.Same(job, state.HolderOf(Img("C")));
        Assert.Null(state.HolderOf(Img("B")));
        Assert.Null(state.HolderOf(Img("A")));
    }

    [Theory]
    [InlineData("C", "A")]
    [InlineData("C", null)]
    [InlineData("D", "C")]
    [InlineData("D", null)]
    public void OverlappingJobIsRefusedAsBusyNamingTheHolder(string top, string? @base)
    {
        var state = Stream(Registered("D", "C", "B", "A"), "D", "B", jobId: "job1");

        var error = Refuse(state, s => s.DecideStream(Request(top, @base, jobId: "job2"), Length));

        Assert.Equal("busy", error.Code);
        Assert.Contains("is busy", error.Message, StringComparison.Ordinal);
        Assert.Contains("job1", error.Message, StringComparison.Ordinal);
        Assert.Single(state.Jobs);
    }

    [Fact]
    public void WholeChainStreamHoldsEveryImage()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, null, jobId: "job1");

        Assert.Equal(Chain("C", "B", "A"), state.Jobs[new JobId("job1")].FrozenPaths);
        Assert.Equal("busy", Refuse(state, s => s.DecideStream(Request("B", null, jobId: "job2"), Length)).Code);
    }

    [Fact]
    public void JobOnANonOverlappingSegmentIsAllowed()
    {
        // job1 holds img0..img1 (its base img2 is not held); img3..img4 are free.
        var state = Stream(Registered("img0", "img1", "img2", "img3", "img4", "img5"), "img0", "img2", jobId: "job1");

        state = Stream(state, "img3", "img5", jobId: "job2");

        Assert.Equal(2, state.LiveJobs.Count());
        Assert.Equal([Img("img4")], state.Jobs[new JobId("job2")].FrozenPaths);
    }

    [Fact]
    public void JobMayStreamIntoAnotherJobsBase()
    {
        // job1's base img2 stays in the chain and is not held: a second job may write it.
        var state = Stream(Registered("img0", "img1", "img2", "img3", "img4", "img5"), "img0", "img2", jobId: "job1");

        state = Stream(state, "img2", "img4", jobId: "job2");

        Assert.Equal(2, state.LiveJobs.Count());
    }

    [Fact]
    public void FourParallelStreamsOverDisjointSegmentsAreAllowed()
    {
        // iotests 030 test_stream_parallel on a 9-image chain: node(i) streams down to base node(i-2) for i = 2, 4, 6, 8.
        var state = Registered("node8", "node7", "node6", "node5", "node4", "node3", "node2", "node1", "node0");

        foreach (var i in new[] { 2, 4, 6, 8 })
        {
            state = Stream(state, $"node{i}", $"node{i - 2}", jobId: $"stream-node{i}");
        }

        Assert.Equal(4, state.LiveJobs.Count());
    }

    [Fact]
    public void SnapshotWhileAJobHoldsTheActiveImageIsRefusedAsBusy()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B", jobId: "job1");

        var error = Refuse(state, s => s.DecideSnapshot(Img("E")));

        Assert.Equal("busy", error.Code);
        Assert.Contains("job1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SnapshotPutsTheNewImageFirst()
    {
        var state = Accept(Registered("D", "C", "B", "A"), s => s.DecideSnapshot(Img("E")));

        Assert.Equal(Chain("E", "D", "C", "B", "A"), state.Chain);
        Assert.Equal(Img("E"), state.ActivePath);
    }

    [Fact]
    public void SnapshotIsAllowedWhileAJobWorksBelowTheActiveImage()
    {
        var state = Stream(Registered("D", "C", "B", "A"), "C", "A", jobId: "job1");

        state = Accept(state, s => s.DecideSnapshot(Img("E")));

        Assert.Equal(Chain("E", "D", "C", "B", "A"), state.Chain);
    }

    [Fact]
    public void SnapshotOntoAnImageAlreadyInTheChainIsRefused()
    {
        var error = Refuse(Registered("D", "C", "B", "A"), s => s.DecideSnapshot(Img("B")));

        Assert.Equal("invalid-parameter", error.Code);
    }

    [Fact]
    public void UnregisterIsRefusedWhileAJobIsLive()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B", jobId: "job1");

        var error = Refuse(state, s => s.DecideUnregister());

        Assert.Equal("busy", error.Code);
        Assert.Contains("job1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnregisterAfterTheJobEndedForgetsTheDisk()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B", jobId: "job1");
        state = Drive(state, "job1", j => j.Cancel());
        state = Drive(state, "job1", j => j.CancelStopped());

        state = Accept(state, s => s.DecideUnregister());

        Assert.False(state.Registered);
        Assert.Empty(state.Chain);
        Assert.Empty(state.Jobs);
    }

    [Theory]
    [InlineData("D", "B", new[] { "D", "B", "A" })]
    [InlineData("D", "A", new[] { "D", "A" })]
    [InlineData("D", null, new[] { "D" })]
    [InlineData("C", "A", new[] { "D", "C", "A" })]
    [InlineData("D", "C", new[] { "D", "C", "B", "A" })] // base right under the top: nothing leaves
    public void CommitRemovesExactlyTheImagesBetweenTopAndBase(string top, string? @base, string[] expected)
    {
        var state = Stream(Registered("D", "C", "B", "A"), top, @base, jobId: "job1");
        var job = state.Jobs[new JobId("job1")];

        state = Accept(state, s => s.DecideCommitted(job));

        Assert.Equal(Chain(expected), state.Chain);
    }

    [Fact]
    public void JobReachingNullLeavesTheJobsMapAndFreesItsImages()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B", jobId: "job1");
        state = Drive(state, "job1", j => j.Start());
        Assert.Equal(JobStatus.Running, state.Jobs[new JobId("job1")].Status);

        state = Drive(state, "job1", j => j.Succeed());

        Assert.Empty(state.Jobs);
        Assert.Null(state.HolderOf(Img("D")));
        Stream(state, null, "B", jobId: "job2");
    }

    [Fact]
    public void ConcludedJobStaysQueryableButHoldsNothing()
    {
        var state = Stream(Registered("D", "C", "B", "A"), null, "B", jobId: "job1", autoDismiss: false);
        state = Drive(state, "job1", j => j.Cancel());
        state = Drive(state, "job1", j => j.CancelStopped());

        Assert.Equal(JobStatus.Concluded, state.Jobs[new JobId("job1")].Status);
        Assert.Empty(state.LiveJobs);
        Assert.Null(state.HolderOf(Img("D")));

        state = Drive(state, "job1", j => j.Dismiss());
        Assert.Empty(state.Jobs);
    }
}
