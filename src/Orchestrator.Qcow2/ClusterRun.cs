namespace Orchestrator.Qcow2;

/// <summary>A run of consecutive guest clusters of one image.</summary>
public readonly record struct ClusterRun(long FirstCluster, int Count);
