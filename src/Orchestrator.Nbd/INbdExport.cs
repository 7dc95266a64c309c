namespace Orchestrator.Nbd;

/// <summary>
/// A byte range a client may read and write over NBD. Calls arrive concurrently, from several requests of one
/// connection and from several connections, so an export must be thread-safe; overlapping requests in flight at once
/// may complete in any order (as the protocol allows). A failure is reported by throwing:
/// <see cref="NbdExportException"/> chooses the error the client sees, anything else becomes EIO.
/// </summary>
public interface INbdExport
{
    /// <summary>The name clients ask for.</summary>
    string Name { get; }

    /// <summary>The size in bytes, advertised at the handshake and fixed for the connection.</summary>
    long Size { get; }

    /// <summary>True when clients may only read: writes, trims and zeroes are refused with EPERM before reaching the export.</summary>
    bool IsReadOnly { get; }

    void Read(long offset, Span<byte> buffer);

    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// Makes the range read as zeroes. With <paramref name="fastOnly"/> (NBD_CMD_FLAG_FAST_ZERO) the export changes
    /// nothing and returns false when zeroing would be no faster than writing zeroes.
    /// </summary>
    bool WriteZeroes(long offset, long length, bool fastOnly);

    /// <summary>Tells the export the range's contents are no longer needed (advisory: it may keep them).</summary>
    void Trim(long offset, long length);

    /// <summary>Makes every completed write durable, whichever connection made it.</summary>
    void Flush();

    /// <summary>
    /// The allocation of a prefix of [offset, offset + length), at most <paramref name="maxExtents"/> runs, in order:
    /// at least one extent, none past the range.
    /// </summary>
    IReadOnlyList<NbdExtent> BlockStatus(long offset, long length, int maxExtents);
}
