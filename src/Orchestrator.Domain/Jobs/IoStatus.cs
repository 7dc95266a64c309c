namespace Orchestrator.Domain.Jobs;

/// <summary>QEMU's BlockDeviceIoStatus as query-block-jobs shows it.</summary>
public enum IoStatus
{
    Ok,
    Failed,
    Nospace,
}
