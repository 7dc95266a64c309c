using Orchestrator.Domain;

namespace Orchestrator.Engine;

/// <summary>
/// The snapshot of the disk manager of earlier versions: the disks it hosted. Only read (once, by
/// <see cref="Disks.LegacyManagerReader"/>), never written; its CLR name must not change.
/// </summary>
public sealed record ManagerSnapshot(List<string> Disks);
