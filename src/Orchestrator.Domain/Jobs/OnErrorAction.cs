namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's BlockErrorAction: what the on-error policy made of one I/O error (BLOCK_JOB_ERROR's action).</summary>
public enum OnErrorAction
{
    /// <summary>The job fails with the error.</summary>
    Report,

    /// <summary>The range is skipped; the job goes on and completes with the error.</summary>
    Ignore,

    /// <summary>The job pauses with an io-status; resume retries the range.</summary>
    Stop,
}
