using Akka.Actor;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Why a node's cluster membership ended its process, and the exit code that says so. A node the split-brain resolver
/// (or an operator) downed, and one that could not join its seeds within <see cref="ClusterSettings.JoinTimeout"/>,
/// stop with <see cref="Code"/> rather than 0, so that a service manager set to restart on failure (packaging's
/// systemd unit) starts it again: as a fresh incarnation, which is what both need.
/// </summary>
public static class ClusterExit
{
    /// <summary>EX_TEMPFAIL (sysexits.h): a temporary failure, worth a restart.</summary>
    public const int Code = 75;

    /// <summary>Why the cluster stopped <paramref name="system"/>, or null when it stopped for another reason (SIGTERM, Ctrl+C).</summary>
    public static string? Reason(ActorSystem system, ClusterSettings settings) => CoordinatedShutdown.Get(system).ShutdownReason switch
    {
        CoordinatedShutdown.ClusterJoinUnsuccessfulReason =>
            $"node {settings.NodeName} could not join the cluster through {string.Join(", ", settings.Seeds)} within {settings.JoinTimeout.TotalSeconds:0.#} s (JoinTimeout)",
        CoordinatedShutdown.ClusterDowningReason =>
            $"node {settings.NodeName} was downed and removed from the cluster (the split-brain resolver, or an operator)",
        _ => null,
    };
}
