namespace Orchestrator.Engine.Persistence;

/// <summary>Where the journal and the snapshot store live.</summary>
public enum JournalProvider
{
    /// <summary>An embedded SQLite file in the node's data folder: one node.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by every node of a cluster.</summary>
    Postgres,
}
