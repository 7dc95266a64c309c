namespace Orchestrator.Engine.Cluster;

/// <summary>What the cluster membership says about a host, as seen from one node.</summary>
public enum HostStatus
{
    /// <summary>A member with the host's role is Up and reachable from here: commands go to it.</summary>
    Up,

    /// <summary>The host's member is unreachable from here, or leaving, or down: commands answer at once.</summary>
    Unreachable,

    /// <summary>No member has the host's role: the node is stopped, or never joined.</summary>
    Absent,
}
