namespace Orchestrator.Contracts;

/// <summary>POST /disks/{id}/snapshot: a live external snapshot whose new overlay is <see cref="Path"/>.</summary>
public sealed record SnapshotRequest
{
    public string? Path { get; init; }
}
