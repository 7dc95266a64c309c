namespace Orchestrator.Contracts;

/// <summary>POST /disks: register a disk by its active image. Request members are nullable so that a missing field is reported by name (400).</summary>
public sealed record RegisterDiskRequest
{
    public string? Id { get; init; }

    public string? Path { get; init; }

    /// <summary>The node (cluster node name) whose storage holds the disk; absent: the node that takes the request.</summary>
    public string? Host { get; init; }
}
