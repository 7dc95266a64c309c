namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's BlockdevOnError for block jobs.</summary>
public enum OnErrorPolicy
{
    /// <summary>Fail the job (the default).</summary>
    Report,

    /// <summary>Go on with the next range; the job completes with an error.</summary>
    Ignore,

    /// <summary>Pause the job with io-status failed; resume retries the same range.</summary>
    Stop,

    /// <summary>Stop on ENOSPC (io-status nospace), report other errors.</summary>
    Enospc,
}
