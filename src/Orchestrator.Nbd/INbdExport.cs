namespace Orchestrator.Nbd;

/// <summary>
/// A byte range a client may read and write over NBD. Calls on one connection arrive one at a time; calls from
/// several connections may overlap, so an export shared by connections must be thread-safe. A failure is reported by
/// throwing: <see cref="NbdExportException"/> chooses the error the client sees, anything else becomes EIO.
/// </summary>
public interface INbdExport
{
    /// <summary>The name clients ask for.</summary>
    string Name { get; }

    /// <summary>The size in bytes, advertised at the handshake and fixed for the connection.</summary>
    long Size { get; }

    void Read(long offset, Span<byte> buffer);

    void Write(long offset, ReadOnlySpan<byte> data);

    void WriteZeroes(long offset, long length);

    /// <summary>Makes every completed write durable.</summary>
    void Flush();
}
