using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine;

/// <summary>Engine options; validated at construction so a bad configuration fails at start, naming the option.</summary>
public sealed record EngineSettings
{
    private readonly IReadOnlyList<string> _storageRoots = [Directory.GetCurrentDirectory()];
    private readonly int _batchBytes = 1024 * 1024;
    private readonly long _checkpointBytes = 256L * 1024 * 1024;
    private readonly int _snapshotInterval = 100;
    private readonly int _guestYieldBytes = 128 * 1024;

    /// <summary>Folders that may hold disk images; any path outside them is refused.</summary>
    public IReadOnlyList<string> StorageRoots
    {
        get => _storageRoots;
        init
        {
            if (value.Count == 0)
            {
                throw new ArgumentException("at least one storage root is required", nameof(StorageRoots));
            }

            _storageRoots = value.Select(r => Path.GetFullPath(r)).ToList();
        }
    }

    /// <summary>
    /// Hold QEMU's image locks (OFD locks on bytes 100-203) on every image a disk has open, so QEMU, qemu-nbd or another
    /// node cannot open them for writing meanwhile, and refuse images one of them writes. On by default, like QEMU's.
    /// </summary>
    public bool ImageLocking { get; init; } = true;

    /// <summary>How image files are opened (page cache, or O_DIRECT as QEMU's cache=none).</summary>
    public CacheMode Cache { get; init; } = CacheMode.PageCache;

    /// <summary>
    /// Bytes a stream copies per step: one gather, one reservation and one data write. The disk's lock is held only
    /// for the metadata steps, but a step is also the unit of the rate limit, of pause points and of the device's
    /// queue a guest request waits behind, so it stays small.
    /// </summary>
    public int BatchBytes
    {
        get => _batchBytes;
        init => _batchBytes = value is >= 64 * 1024 and <= 256 * 1024 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(BatchBytes), value, "must be between 64 KiB and 256 MiB");
    }

    /// <summary>
    /// Bytes copied (not address space scanned) between persisted checkpoints; each one: flush, commit, flush, then
    /// persist. A crash redoes at most this much copying.
    /// </summary>
    public long CheckpointBytes
    {
        get => _checkpointBytes;
        init => _checkpointBytes = value >= 64 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(CheckpointBytes), value, "must be at least 64 KiB");
    }

    /// <summary>
    /// Persisted events between snapshots of a disk's (and the disk manager's) state; after each snapshot the journal
    /// up to it is deleted, so recovery replays at most this many events. Every checkpoint is an event: at the default
    /// 256 MiB checkpoints, 100 events are about 25 GiB of streaming.
    /// </summary>
    public int SnapshotInterval
    {
        get => _snapshotInterval;
        init => _snapshotInterval = value is >= 1 and <= 1_000_000
            ? value
            : throw new ArgumentOutOfRangeException(nameof(SnapshotInterval), value, "must be between 1 and 1000000 events");
    }

    /// <summary>
    /// While the disk's guest waits on a stream (Pacing/GuestPacer), the largest request the stream puts on the device
    /// (one at a time, each in a gap between guest requests; at most a quarter batch): the ceiling, halved as the wait
    /// grows. A guest request waits behind at most one of them: smaller favours the guest's latency, larger the
    /// stream's speed under guest load. Measured with the fixed pacing before (4 GiB chain, O_DIRECT, fio at queue
    /// depth 1 over NBD; guest p99 during the stream / idle, stream time): 64K 0.89x, 3.7 s; 128K 1.65x, 2.4 s;
    /// 256K 1.87x, 1.8 s; QEMU's block-stream 2.0-2.3x, 1.2-1.5 s.
    /// </summary>
    public int GuestYieldBytes
    {
        get => _guestYieldBytes;
        init => _guestYieldBytes = value is >= 4 * 1024 and <= 64 * 1024 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(GuestYieldBytes), value, "must be between 4 KiB and 64 MiB");
    }

    /// <summary>Retries of a failed batch before the job's on-error policy decides (supervision with backoff).</summary>
    public int IoRetries { get; init; } = 2;

    public TimeSpan IoRetryBackoff { get; init; } = TimeSpan.FromMilliseconds(50);
}
