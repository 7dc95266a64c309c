namespace Orchestrator.Contracts;

/// <summary>POST /disks/{id}/stream: QEMU's block-stream arguments.</summary>
public sealed record StreamJobRequest
{
    public string? JobId { get; init; }

    public string? Top { get; init; }

    public string? Base { get; init; }

    public string? BackingFile { get; init; }

    public long? Speed { get; init; }

    /// <summary>report (default), ignore, stop or enospc.</summary>
    public string? OnError { get; init; }

    public bool? AutoDismiss { get; init; }
}
