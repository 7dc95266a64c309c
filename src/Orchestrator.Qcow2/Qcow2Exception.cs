namespace Orchestrator.Qcow2;

/// <summary>The one exception type of the qcow2 library: a stable kind plus the path, offset and operation involved.</summary>
public sealed class Qcow2Exception : Exception
{
    public Qcow2Exception(Qcow2ErrorKind kind, string message, string? path = null, long? offset = null,
        string? operation = null, Exception? inner = null, int? errno = null)
        : base(Compose(message, path, offset, operation), inner)
    {
        Errno = errno;
        Kind = kind;
        Path = path;
        Offset = offset;
        Operation = operation;
        Detail = message;
    }

    public Qcow2ErrorKind Kind { get; }

    public string? Path { get; }

    public long? Offset { get; }

    public string? Operation { get; }

    /// <summary>The operating system's error number, when a system call failed (Linux errno values).</summary>
    public int? Errno { get; }

    /// <summary>ENOENT: the file (or a folder on its path) does not exist. Decided by the errno, never by the message's wording.</summary>
    public bool IsNotFound => Errno == 2;

    /// <summary>The message without the path/offset decoration.</summary>
    public string Detail { get; }

    private static string Compose(string message, string? path, long? offset, string? operation)
    {
        var prefix = path is null ? "" : $"{path}: ";
        var suffix = (operation, offset) switch
        {
            (null, null) => "",
            (not null, null) => $" (while {operation})",
            (null, not null) => $" (at offset {offset})",
            _ => $" (while {operation} at offset {offset})",
        };
        return prefix + message + suffix;
    }
}
