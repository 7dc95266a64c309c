using Akka.Actor;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Jobs;

/// <summary>
/// What a disk actor knows of one job's running worker, from the worker's messages only: its supervisor, its run
/// number (reports of an older run are ignored), where the copy is, and whether the commit is being written.
/// </summary>
internal sealed class WorkerHandle(IActorRef supervisor, long run, bool usesLiveChain, bool busy)
{
    public IActorRef Supervisor { get; } = supervisor;

    public long Run { get; } = run;

    /// <summary>The worker copies through the live chain (its top is the active image): no reopen under it.</summary>
    public bool UsesLiveChain { get; } = usesLiveChain;

    public long Offset { get; set; }

    /// <summary>The job's bytes copied when this worker (re)started from its checkpoint: the worker counts from 0.</summary>
    public long CopiedBefore { get; set; }

    /// <summary>The data this worker has written since it (re)started, as it last reported.</summary>
    public long Copied { get; set; }

    /// <summary>The job's bytes copied so far, durable or not.</summary>
    public long TotalCopied => CopiedBefore + Copied;

    public bool Busy { get; set; } = busy;

    /// <summary>The disk told the worker to commit; verbs for the job wait until the outcome is persisted.</summary>
    public bool Committing { get; set; }

    /// <summary>Verbs that arrived while committing, replayed in order once the job's outcome is persisted.</summary>
    public List<(DiskCommands.JobVerbCommand Command, IActorRef Sender)> Deferred { get; } = [];

    /// <summary>The last crash the worker reported: the job fails with it if the supervisor gives up.</summary>
    public string? LastFault { get; set; }
}
