namespace Orchestrator.Contracts;

/// <summary>
/// What a client needs of a node's data folder to find it: the token and endpoint file names, the default folder and
/// the default URL. The node's own list of its files (NodePaths) takes these from here, so the two cannot drift.
/// </summary>
public static class NodeDataFolder
{
    /// <summary>The API's bearer token, created at first start with mode 0600.</summary>
    public const string TokenFile = "token";

    /// <summary>The URL the running node listens on, written once it listens, removed when it stops.</summary>
    public const string EndpointFile = "endpoint";

    /// <summary>Where a node listens when nothing says otherwise.</summary>
    public const string DefaultServerUrl = "http://127.0.0.1:8080";

    /// <summary>$XDG_DATA_HOME/orchestrator, else ~/.local/share/orchestrator (the XDG base directory default).</summary>
    public static string DefaultDirectory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
            {
                return Path.Combine(xdg, "orchestrator");
            }

            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".local", "share", "orchestrator");
        }
    }
}
