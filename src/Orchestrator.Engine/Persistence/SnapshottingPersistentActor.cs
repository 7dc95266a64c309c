using Akka.Event;
using Akka.Persistence;

namespace Orchestrator.Engine;

/// <summary>
/// A persistent actor that bounds its recovery: every <see cref="EngineSettings.SnapshotInterval"/> persisted events it
/// saves a snapshot of its state, and once the snapshot is stored it deletes the journal up to it and the older
/// snapshots. Recovery then loads the snapshot and replays at most that many events. A failed save or delete is only
/// logged: the journal still holds every event since the last good snapshot, so nothing is lost, recovery is slower.
/// </summary>
public abstract class SnapshottingPersistentActor : ReceivePersistentActor
{
    private readonly int _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    protected SnapshottingPersistentActor(int interval)
    {
        _interval = interval;
        CommandSnapshotHousekeeping();
    }

    /// <summary>
    /// Handles the snapshot store's and journal's answers. Called by the constructor; a subclass that switches
    /// behaviours (Become) calls it again in each one, since Become replaces every handler.
    /// </summary>
    protected void CommandSnapshotHousekeeping()
    {
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "{0}: saving the snapshot at event {1} failed; the journal keeps every event",
            PersistenceId, f.Metadata.SequenceNr));
        Command<DeleteMessagesSuccess>(d => _log.Debug("{0}: journal deleted up to event {1}", PersistenceId, d.ToSequenceNr));
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "{0}: deleting the journal up to event {1} failed; recovery replays those events",
            PersistenceId, f.ToSequenceNr));
        Command<DeleteSnapshotsSuccess>(d => _log.Debug("{0}: snapshots up to event {1} deleted", PersistenceId, d.Criteria.MaxSequenceNr));
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "{0}: deleting snapshots up to event {1} failed; they stay unused",
            PersistenceId, f.Criteria.MaxSequenceNr));
    }

    /// <summary>The actor's whole persisted state, as a serializable snapshot.</summary>
    protected abstract object SnapshotState();

    /// <summary>
    /// Call in a persist callback after the event is applied: <see cref="Eventsourced.LastSequenceNr"/> is then that
    /// event's number and the state is exactly the journal up to it, which is what the snapshot must hold.
    /// </summary>
    protected void SnapshotIfDue()
    {
        if (LastSequenceNr > 0 && LastSequenceNr % _interval == 0)
        {
            SaveSnapshot(SnapshotState());
        }
    }

    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        var upTo = saved.Metadata.SequenceNr;
        _log.Debug("{0}: snapshot saved at event {1}", PersistenceId, upTo);
        DeleteMessages(upTo);
        DeleteSnapshots(new SnapshotSelectionCriteria(upTo - 1));
    }
}
