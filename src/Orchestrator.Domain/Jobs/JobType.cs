namespace Orchestrator.Domain.Jobs;

/// <summary>The kinds of block job we run: QEMU's stream, and our block-copy (live snapshot, then a stream with no base).</summary>
public enum JobType
{
    Stream,
    BlockCopy,
}
