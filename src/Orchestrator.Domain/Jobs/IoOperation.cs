namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's IoOperationType: which side of a job's copy failed (BLOCK_JOB_ERROR's operation).</summary>
public enum IoOperation
{
    Read,
    Write,
}
