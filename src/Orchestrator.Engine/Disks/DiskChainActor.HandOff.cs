using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain;
using static Orchestrator.Engine.StreamRunnerMessages;

// A partial of the disk entity: same namespace as its other parts.
namespace Orchestrator.Engine;

/// <summary>
/// The entity's stop at a node's coordinated shutdown (the shard's hand-off). Stopped at once, a running job would
/// resume after the restart from its last periodic checkpoint and copy again up to one checkpoint interval of data.
/// So each job's worker is first held at a pause point with a checkpoint of where it is; the job stays running in the
/// journal (no user pause), and resumes from there when the node is back. Bounded by <see cref="HandOffLimit"/>, under
/// the shard hand-off phase of coordinated shutdown.
/// </summary>
public sealed partial class DiskChainActor
{
    private static readonly TimeSpan HandOffLimit = TimeSpan.FromSeconds(5);

    // The jobs whose workers have not yet said they are held; null when no hand-off is under way.
    private HashSet<JobId>? _handOffPending;

    private void CommandHandOff()
    {
        Command<EngineMessages.HandOff>(_ => BeginHandOff());
        Command<HandOffComplete>(complete =>
        {
            if (!complete.InTime)
            {
                _log.Warning("disk {0}: {1} job(s) not held within {2} s; stopping anyway (they resume from their last checkpoint)",
                    _id, _handOffPending?.Count ?? 0, HandOffLimit.TotalSeconds);
            }

            Context.Stop(Self);
        });
    }

    private void BeginHandOff()
    {
        if (_handOffPending is not null)
        {
            return;
        }

        _handOffPending = [.. _workers.Keys];
        if (_handOffPending.Count == 0)
        {
            Context.Stop(Self);
            return;
        }

        _log.Info("disk {0}: holding {1} job(s) at a checkpoint before stopping", _id, _handOffPending.Count);
        foreach (var worker in _workers.Values)
        {
            worker.Supervisor.Tell(HoldForHandOff.Instance);
        }

        Timers.StartSingleTimer(nameof(HandOffComplete), HandOffComplete.TimedOut, HandOffLimit);
    }

    /// <summary>
    /// A job's worker is held (or gone). The stop goes through the mailbox: the job's last checkpoint, reported just
    /// before, is being persisted, and commands wait until it is (so nothing it publishes is lost).
    /// </summary>
    private void HandOffDone(JobId job)
    {
        if (_handOffPending is not null && _handOffPending.Remove(job) && _handOffPending.Count == 0)
        {
            Self.Tell(HandOffComplete.AllHeld);
        }
    }

    private sealed record HandOffComplete(bool InTime)
    {
        public static readonly HandOffComplete AllHeld = new(true);
        public static readonly HandOffComplete TimedOut = new(false);
    }
}
