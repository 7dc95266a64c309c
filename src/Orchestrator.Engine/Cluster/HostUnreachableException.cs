namespace Orchestrator.Engine.Cluster;

/// <summary>A command's host is not reachable from this node; thrown at once instead of waiting for a timeout.</summary>
public sealed class HostUnreachableException(string host, HostStatus status)
    : Exception(status == HostStatus.Absent
        ? $"host {host} is unreachable (not a member of the cluster: stopped, or not started); its jobs resume when it returns"
        : $"host {host} is unreachable; its jobs resume when it returns")
{
    public string Host { get; } = host;

    public HostStatus Status { get; } = status;
}
