using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>QEMU's block-stream arguments. <see cref="Top"/> null means the active image (QEMU's device).</summary>
public sealed record StreamRequest
{
    public JobId? JobId { get; init; }
    public string? Top { get; init; }
    public string? Base { get; init; }
    public string? BackingFile { get; init; }
    public long Speed { get; init; }
    public OnErrorPolicy OnError { get; init; } = OnErrorPolicy.Report;
    public bool AutoDismiss { get; init; } = true;

    /// <summary>The W3C traceparent of the request that asked for the job, so the engine's spans join its trace; never persisted.</summary>
    public string? TraceParent { get; init; }
}
