using Orchestrator.Domain;
using Orchestrator.Domain.Jobs;

namespace Orchestrator.Engine;

/// <summary>
/// What a stream runner tells its disk actor. Sent from the runner's thread; handled on the actor's. Each message names
/// its runner, so a stopping runner's late report never touches a newer job that reuses the id.
/// </summary>
internal static class StreamRunnerMessages
{
    /// <summary>Everything below <paramref name="Offset"/> is copied, committed and flushed: persist it now.</summary>
    public sealed record Checkpointed(JobId Job, long Offset, StreamRunner Runner);

    /// <summary>The copy reached the end and the new backing file is in the header (the commit point has passed).</summary>
    public sealed record Committed(JobId Job, string? NewBackingFile, StreamRunner Runner);

    /// <summary>The copy reached the end after errors were ignored: nothing is committed, the job fails with the error.</summary>
    public sealed record EndedWithError(JobId Job, string Error, StreamRunner Runner);

    /// <summary>The runner stopped for a cancel; what was copied stays (a later stream skips it).</summary>
    public sealed record Cancelled(JobId Job, long Offset, StreamRunner Runner);

    /// <summary>A batch failed even after retries; the runner waits for <see cref="StreamRunner.Retry"/>, <see cref="StreamRunner.SkipAndContinue"/> or cancel.</summary>
    public sealed record IoFailed(JobId Job, string Error, IoOperation Operation, bool NoSpace, StreamRunner Runner);
}
