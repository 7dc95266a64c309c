using Akka.Actor;
using Akka.Persistence;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Reads, once, a stream an earlier version wrote, reports it to the registry, and once the registry has imported it
/// and answers <see cref="Forget"/>, deletes the stream so it is never imported twice nor replayed by an actor that
/// now owns the same persistence id.
/// </summary>
internal abstract class OldStreamReader : ReceivePersistentActor
{
    protected OldStreamReader()
    {
        Command<Forget>(_ => ForgetStream());
        Command<DeleteMessagesSuccess>(_ => Context.Stop(Self));
        Command<DeleteMessagesFailure>(_ => Context.Stop(Self));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    private void ForgetStream()
    {
        if (LastSequenceNr == 0 && SnapshotSequenceNr == 0)
        {
            Context.Stop(Self);
            return;
        }

        DeleteSnapshots(SnapshotSelectionCriteria.Latest);
        DeleteMessages(LastSequenceNr);
    }

    /// <summary>The registry's answer once it has persisted what was read.</summary>
    public sealed class Forget
    {
        public static readonly Forget Instance = new();
    }
}
