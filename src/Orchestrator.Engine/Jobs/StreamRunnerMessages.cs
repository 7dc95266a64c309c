using Orchestrator.Domain;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>
/// The protocol between a disk actor and the stream workers of its jobs (<see cref="Jobs.StreamWorker"/>). Only values
/// cross it, in both directions: the decisions (pause, resume, cancel, set-speed, the on-error answer, commit) go down,
/// progress and outcomes come up. Every report names its job and its run, so a stopping worker's late report never
/// touches a newer job that reuses the id.
/// </summary>
internal static class StreamRunnerMessages
{
    // ---- worker -> disk ----

    /// <summary>A worker (new, or restarted by its supervisor) asks how to start; answered with <see cref="Go"/>.</summary>
    public sealed record WorkerStarted(JobId Job, long Run);

    /// <summary>
    /// Where the copy is (not yet durable), the data this run has written so far, and whether it is copying right now
    /// (query-block-jobs' busy). Byte counts of a worker start at 0 each time it (re)starts from the checkpoint.
    /// </summary>
    public sealed record Progress(JobId Job, long Run, long Offset, bool Busy, long BytesCopied);

    /// <summary>Everything below <paramref name="Offset"/> is copied, committed and flushed: persist it now.</summary>
    public sealed record Checkpointed(JobId Job, long Run, long Offset, long BytesCopied);

    /// <summary>The whole range is copied and flushed; the worker waits for <see cref="Commit"/> or <see cref="Cancel"/>.</summary>
    public sealed record ReadyToCommit(JobId Job, long Run);

    /// <summary>The copy reached the end and the new backing file is in the header (the commit point has passed).</summary>
    public sealed record Committed(JobId Job, long Run, string? NewBackingFile);

    /// <summary>The copy ended with an error (reported, remembered under ignore, or an image error); nothing is committed.</summary>
    public sealed record EndedWithError(JobId Job, long Run, string Error);

    /// <summary>The worker stopped for a cancel; what was copied stays (a later stream skips it).</summary>
    public sealed record Cancelled(JobId Job, long Run, long Offset, long BytesCopied);

    /// <summary>A batch failed even after its retries; the worker waits for the on-error answer.</summary>
    public sealed record IoFailed(JobId Job, long Run, string Error, IoOperation Operation, bool NoSpace);

    /// <summary>
    /// Answer to <see cref="HoldForHandOff"/>: the worker copies nothing more and what it copied is durable and reported
    /// (its last <see cref="Checkpointed"/> came before this), or it waits for an answer and copies nothing anyway.
    /// </summary>
    public sealed record HeldForHandOff(JobId Job, long Run);

    /// <summary>The worker crashed on an unexpected error and its supervisor restarts it after a back-off.</summary>
    public sealed record Faulted(JobId Job, long Run, string Error);

    // ---- disk -> worker ----

    /// <summary>Start (or restart) from the job's persisted state: its checkpoint, speed, pause and cancel.</summary>
    public sealed record Go(long Offset, long Speed, bool Paused, bool Cancelled, string? IgnoredError);

    public sealed record Pause
    {
        public static readonly Pause Instance = new();
    }

    public sealed record Resume
    {
        public static readonly Resume Instance = new();
    }

    public sealed record Cancel
    {
        public static readonly Cancel Instance = new();
    }

    public sealed record SetSpeed(long Speed);

    /// <summary>
    /// The disk is stopping (node shutdown): stop at the next pause point with a checkpoint of where the copy is, and
    /// say so with <see cref="HeldForHandOff"/>. Not a user pause: nothing is persisted, the job resumes at the restart.
    /// </summary>
    public sealed record HoldForHandOff
    {
        public static readonly HoldForHandOff Instance = new();
    }

    /// <summary>
    /// The on-error policy's answer to <see cref="IoFailed"/>: ignore skips the batch, report ends the copy with the
    /// error, stop keeps the worker waiting (the job is paused) until <see cref="RetryBatch"/> or <see cref="Cancel"/>.
    /// </summary>
    public sealed record ErrorAnswer(OnErrorAction Action, string Error);

    /// <summary>Resume of a job stopped by an error: try the failed batch again.</summary>
    public sealed record RetryBatch
    {
        public static readonly RetryBatch Instance = new();
    }

    /// <summary>The disk has decided the job completes: write the new backing file (the commit point).</summary>
    public sealed record Commit
    {
        public static readonly Commit Instance = new();
    }
}
