using System.Collections.Concurrent;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Fault injection for the snapshot store: every save fails (as a full disk or a lost database would make it), and
/// there is never a snapshot to load. Records the persistence ids that tried to save, so a test can tell that
/// snapshots were attempted. Only <see cref="SnapshotRecoveryTests"/> uses it.
/// </summary>
public sealed class FailingSnapshotStore : SnapshotStore
{
    public static readonly ConcurrentQueue<(string PersistenceId, long SequenceNr)> SaveAttempts = new();

    /// <summary>Makes this store the default snapshot store; the journal stays the SQLite one.</summary>
    public static Config Config => ConfigurationFactory.ParseString($$"""
        akka.persistence.snapshot-store {
          plugin = "akka.persistence.snapshot-store.failing"
          failing.class = "{{typeof(FailingSnapshotStore).AssemblyQualifiedName}}"
        }
        """);

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        Task.FromResult<SelectedSnapshot?>(null);

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        SaveAttempts.Enqueue((metadata.PersistenceId, metadata.SequenceNr));
        return Task.FromException(new IOException("injected: the snapshot store is unavailable"));
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.CompletedTask;
}
