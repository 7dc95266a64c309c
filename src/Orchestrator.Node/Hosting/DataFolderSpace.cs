namespace Orchestrator.Node.Hosting;

/// <summary>
/// The free space of the data folder's file system, where the journal writes. A command that would journal is refused
/// while it is below <see cref="MinimumFreeBytes"/>: SQLite cannot commit on a full file system, and an actor whose
/// persist fails stops, which would leave every later request to time out.
/// </summary>
public sealed class DataFolderSpace(string path)
{
    /// <summary>Room for a few journal pages, the write-ahead log's growth and a snapshot; far less than any sane volume.</summary>
    public const long MinimumFreeBytes = 1024 * 1024;

    public string Path { get; } = path;

    /// <summary>Bytes an unprivileged writer may still use (statvfs's f_bavail); null when the folder cannot be examined.</summary>
    public long? AvailableBytes()
    {
        try
        {
            return new DriveInfo(Path).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown is not "full": the journal itself will answer if it cannot write.
            return null;
        }
    }

    /// <summary>Why a write must be refused now, or null when there is room.</summary>
    public string? ShortageMessage()
    {
        var available = AvailableBytes();
        return available is { } bytes && bytes < MinimumFreeBytes
            ? $"the node's data folder '{Path}' is full ({bytes} bytes free, {MinimumFreeBytes} needed): the journal cannot record changes; free space there and retry (reads still work)"
            : null;
    }
}
