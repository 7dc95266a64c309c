using static Orchestrator.Domain.Tests.Jobs.TestJobs;

namespace Orchestrator.Domain.Tests.Jobs;

/// <summary>A job's bytes copied: recorded with each checkpoint, never going back, shown in query-block-jobs' entry.</summary>
public sealed class JobBytesCopiedTests
{
    [Fact]
    public void Checkpoints_record_the_bytes_copied_apart_from_the_offset_scanned()
    {
        var job = Accept(RunningJob(), j => j.Checkpoint(3L << 20, 1L << 20), out var events);

        Assert.Equal(new JobCheckpointed(Id, 3L << 20, 1L << 20), Assert.Single(events));
        Assert.Equal(3L << 20, job.Offset);
        Assert.Equal(1L << 20, job.BytesCopied);
        Assert.Equal(1L << 20, JobInfo.From(job, busy: true).BytesCopied);
    }

    [Fact]
    public void A_checkpoint_without_a_count_keeps_the_last_one()
    {
        // Journals written before the count existed hold checkpoints with 0: the job keeps what it had.
        var job = Accept(RunningJob(), j => j.Checkpoint(1L << 20, 512 * 1024));
        job = job.Apply(new JobCheckpointed(Id, 2L << 20));

        Assert.Equal(2L << 20, job.Offset);
        Assert.Equal(512 * 1024, job.BytesCopied);
    }

    [Fact]
    public void Success_keeps_the_bytes_copied_while_the_offset_reaches_the_length()
    {
        var job = Accept(RunningJob(), j => j.Checkpoint(Length / 2, 4096));
        job = Accept(job, j => j.Succeed());

        Assert.Equal(Length, job.Offset);
        Assert.Equal(4096, job.BytesCopied);
    }
}
