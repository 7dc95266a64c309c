namespace Orchestrator.Domain.Jobs;

/// <summary>
/// One entry of query-block-jobs, with QEMU's field names on the wire: type, device, len, offset, busy, paused,
/// speed, io-status, ready, status, auto-finalize, auto-dismiss, error. Plus our own: disk, bytes-copied (data
/// written into the top; QEMU's offset counts address space scanned, skipped ranges included), and the host (node
/// name) the disk runs on, filled by the node that gathers a fleet-wide answer.
/// </summary>
public sealed record JobInfo(
    string Type,
    string Device,
    string Disk,
    long Len,
    long Offset,
    bool Busy,
    bool Paused,
    long Speed,
    string IoStatus,
    bool Ready,
    string Status,
    bool AutoFinalize,
    bool AutoDismiss,
    string? Error,
    long BytesCopied = 0,
    string? Host = null)
{
    public static JobInfo From(Job job, bool busy) => new(
        QemuNames.Of(job.Type), job.Id.Value, job.Disk.Value, job.Length, job.Offset, busy, job.UserPaused || job.Status == JobStatus.Paused,
        job.Speed, QemuNames.Of(job.IoStatus), false, QemuNames.Of(job.Status), job.AutoFinalize, job.AutoDismiss,
        job.Error ?? (job.Cancelled ? CancelledError : null), job.BytesCopied);

    /// <summary>What QEMU's query-block-jobs gives a cancelled job's error (strerror(ECANCELED)).</summary>
    public const string CancelledError = "Operation canceled";
}
