using Orchestrator.Contracts;

namespace Orchestrator.Node;

/// <summary>The files of a node's data folder, and where that folder is by default.</summary>
public static class NodePaths
{
    /// <summary>The Akka.Persistence journal and snapshot store (SQLite).</summary>
    public const string JournalFile = "journal.db";

    /// <summary>The API's bearer token, created at first start with mode 0600.</summary>
    public const string TokenFile = NodeDataFolder.TokenFile;

    /// <summary>The URL the running node listens on, written once it listens, removed when it stops.</summary>
    public const string EndpointFile = NodeDataFolder.EndpointFile;

    /// <summary>The NBD Unix socket serving every registered disk (mode 0600; replaced at start if stale, removed at stop).</summary>
    public const string NbdSocketFile = "nbd.sock";

    /// <summary>Held with an exclusive lock while a node uses the folder: two nodes on one journal would corrupt it.</summary>
    public const string LockFile = "node.lock";

    /// <summary>$XDG_DATA_HOME/orchestrator, else ~/.local/share/orchestrator (the XDG base directory default).</summary>
    public static string DefaultDataDirectory => NodeDataFolder.DefaultDirectory;
}
