namespace Orchestrator.Contracts;

/// <summary>POST /disks/{id}/block-copy: snapshot to <see cref="Destination"/>, then stream the whole chain into it.</summary>
public sealed record BlockCopyJobRequest
{
    public string? Destination { get; init; }

    public string? JobId { get; init; }

    public long? Speed { get; init; }

    public string? OnError { get; init; }

    public bool? AutoDismiss { get; init; }
}
