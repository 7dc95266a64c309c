namespace Orchestrator.Domain.Disks;

/// <summary>The states a disk reports in <c>disk show</c> and <c>disk list</c>.</summary>
public static class DiskStates
{
    /// <summary>Its chain is open and it serves the guest and its jobs.</summary>
    public const string Ready = "ready";

    /// <summary>Its chain is being opened (registration or restart); it answers queries, other commands wait.</summary>
    public const string Opening = "opening";

    /// <summary>After a restart its images could not be opened (or its journal not replayed): it serves nothing, shows why.</summary>
    public const string Quarantined = "quarantined";

    /// <summary>
    /// In a list only: its entity did not answer in time (it waits, for example, for its journal's database to return).
    /// It is listed all the same, with its host, so that a disk and its running job never seem to vanish.
    /// </summary>
    public const string Unresponsive = "unresponsive";
}
