namespace Orchestrator.Engine.Pacing;

/// <summary>
/// How a copy's next step runs: at full speed (whole batch, read-ahead, large parallel requests, no waiting for gaps),
/// or yielding to a waiting guest (quarter batches, no read-ahead, one request of at most <see cref="IoBytes"/> at a
/// time, each started in a gap between guest requests).
/// </summary>
internal readonly record struct PacingDecision(bool Yield, int IoBytes)
{
    public static PacingDecision FullSpeed { get; } = new(false, int.MaxValue);
}
