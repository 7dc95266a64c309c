using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Orchestrator.Qcow2.IO;

/// <summary>
/// Positional I/O on one image file. In direct mode, requests that are not 4 KiB aligned in offset, length
/// and memory go through an aligned bounce buffer (read-modify-write for writes), so callers never care.
/// </summary>
public sealed class ImageFile : IDisposable
{
    private const int Align = AlignedBuffer.Alignment;
    private readonly SafeFileHandle _handle;
    private AlignedBuffer? _bounce;

    private readonly ImageLock? _lock;

    private ImageFile(string path, SafeFileHandle handle, CacheMode cache, bool writable, FileIdentity identity, ImageLock? imageLock)
    {
        Path = path;
        _handle = handle;
        Cache = cache;
        Writable = writable;
        Identity = identity;
        _lock = imageLock;
    }

    public string Path { get; }

    public CacheMode Cache { get; }

    public bool Writable { get; }

    /// <summary>Device and inode of the file actually opened (whatever its name points at now).</summary>
    public FileIdentity Identity { get; }

    public long Length => RandomAccess.GetLength(_handle);

    /// <summary>
    /// Opens an existing image file. With a <paramref name="confinement"/>, the name is checked before the open and the
    /// opened descriptor after it; with <paramref name="locking"/>, QEMU-compatible locks are held until disposal.
    /// Anything but a regular file is refused before a blocking read could hang on it.
    /// </summary>
    public static ImageFile Open(string path, bool writable, CacheMode cache, IFileConfinement? confinement = null, bool locking = false) =>
        OpenCore(path, (writable ? NativeMethods.ORdWr : NativeMethods.ORdOnly), cache, writable, "opening", confinement, locking);

    /// <summary>Creates a new file; fails if it already exists (never overwrites a user's image).</summary>
    public static ImageFile CreateNew(string path, CacheMode cache, IFileConfinement? confinement = null) =>
        OpenCore(path, NativeMethods.ORdWr | NativeMethods.OCreat | NativeMethods.OExcl, cache, true, "creating", confinement, locking: false);

    /// <summary>
    /// The same file opened again in another cache mode, through this descriptor (/proc/self/fd) rather than by name,
    /// so a name repointed since the first open cannot substitute another file. Holds no locks: this one does.
    /// </summary>
    public ImageFile Reopen(CacheMode cache)
    {
        var flags = (Writable ? NativeMethods.ORdWr : NativeMethods.ORdOnly) | NativeMethods.OCloexec | (cache == CacheMode.Direct ? NativeMethods.ODirect : 0);
        var fd = NativeMethods.Open(DescriptorPath(_handle), flags, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Qcow2Exception(Qcow2ErrorKind.Io, $"cannot reopen: {Marshal.GetPInvokeErrorMessage(errno)}", Path, operation: "reopening");
        }

        return new ImageFile(Path, new SafeFileHandle(fd, ownsHandle: true), cache, Writable, Identity, imageLock: null);
    }

    private static ImageFile OpenCore(string path, int flags, CacheMode cache, bool writable, string operation,
        IFileConfinement? confinement, bool locking)
    {
        if (confinement is not null)
        {
            // Before anything is opened or even looked up by the open: a refused name reveals nothing about its file.
            Confine(confinement, path, PhysicalPath.Resolve(path), operation);
        }

        // O_NONBLOCK so a FIFO cannot block the open (nor the first read); cleared once the file is known regular.
        flags |= NativeMethods.OCloexec | NativeMethods.ONonblock;
        if (cache == CacheMode.Direct)
        {
            flags |= NativeMethods.ODirect;
        }

        var fd = NativeMethods.Open(path, flags, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var reason = Marshal.GetPInvokeErrorMessage(errno);
            if (errno is NativeMethods.ENxio or NativeMethods.EIsDir)
            {
                // open(2) itself refuses a Unix socket (ENXIO) and a folder opened for writing (EISDIR): the same
                // answer as fstat's for the other kinds, not an I/O error.
                throw NotRegular(path, operation);
            }

            if (errno == NativeMethods.EInval && cache == CacheMode.Direct)
            {
                reason += " (the file system does not support O_DIRECT; use the page cache mode)";
            }

            throw new Qcow2Exception(Qcow2ErrorKind.Io, $"cannot open: {reason}", path, operation: operation, errno: errno);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var created = (flags & NativeMethods.OCreat) != 0;
        try
        {
            var identity = FileIdentity.Of(handle, path);
            if (!identity.IsRegularFile)
            {
                throw NotRegular(path, operation);
            }

            if (confinement is not null)
            {
                ConfineOpened(confinement, handle, identity, path, operation, created);
            }

            if (NativeMethods.Fcntl(fd, NativeMethods.FSetFl, NativeMethods.Fcntl(fd, NativeMethods.FGetFl, 0) & ~NativeMethods.ONonblock) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new Qcow2Exception(Qcow2ErrorKind.Io, $"cannot clear O_NONBLOCK: {Marshal.GetPInvokeErrorMessage(errno)}", path, operation: operation);
            }

            var imageLock = locking ? ImageLock.Acquire(handle, identity, writable, path) : null;
            return new ImageFile(path, handle, cache, writable, identity, imageLock);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static Qcow2Exception NotRegular(string path, string operation) => new(Qcow2ErrorKind.NotRegularFile,
        "is not a regular file (a directory, a FIFO, a device or a socket); only regular files can be images", path, operation: operation);

    private static void Confine(IFileConfinement confinement, string path, string resolved, string operation)
    {
        if (confinement.Refusal(resolved) is { } refusal)
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Confined, $"refused: {refusal}", path, operation: operation);
        }
    }

    /// <summary>
    /// The check that a swap cannot race: the path the kernel reports for the descriptor is the file really opened.
    /// A file this open created outside is removed again (only if that name still is the file created).
    /// </summary>
    private static void ConfineOpened(IFileConfinement confinement, SafeFileHandle handle, FileIdentity identity, string path, string operation, bool created)
    {
        var real = new FileInfo(DescriptorPath(handle)).LinkTarget;
        if (real is null || !real.StartsWith('/'))
        {
            throw new Qcow2Exception(Qcow2ErrorKind.Confined, "refused: the opened file's path cannot be read back", path, operation: operation);
        }

        if (confinement.Refusal(real) is not { } refusal)
        {
            return;
        }

        if (created && IdentityOrNull(real) == identity)
        {
            _ = NativeMethods.Unlink(real);
        }

        throw new Qcow2Exception(Qcow2ErrorKind.Confined, $"refused: {refusal} (its name was redirected while it was opened)", path, operation: operation);
    }

    private static FileIdentity? IdentityOrNull(string path)
    {
        try
        {
            return FileIdentity.Of(path);
        }
        catch (Qcow2Exception)
        {
            return null;
        }
    }

    private static string DescriptorPath(SafeFileHandle handle) => $"/proc/self/fd/{(int)handle.DangerousGetHandle()}";

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; bytes past the end of the file read as zeros (as QEMU does).</summary>
    public void Read(Span<byte> buffer, long offset)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        FaultInjection.Check("read", Path, offset, buffer.Length);

        if (Cache == CacheMode.Direct && !IsAligned(buffer, offset))
        {
            ReadBounced(buffer, offset);
            return;
        }

        var done = 0;
        while (done < buffer.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_handle, buffer[done..], offset + done);
            }
            catch (IOException e)
            {
                throw Wrap(e, "reading", offset + done);
            }

            if (n == 0)
            {
                buffer[done..].Clear();
                return;
            }

            done += n;
        }
    }

    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        if (data.IsEmpty)
        {
            return;
        }

        FaultInjection.Check("write", Path, offset, data.Length);

        if (Cache == CacheMode.Direct && !IsAligned(data, offset))
        {
            WriteBounced(data, offset);
            return;
        }

        try
        {
            RandomAccess.Write(_handle, data, offset);
        }
        catch (IOException e)
        {
            throw Wrap(e, "writing", offset);
        }
    }

    /// <summary>fdatasync: everything written so far is durable when this returns.</summary>
    public void Flush()
    {
        if (NativeMethods.FDataSync((int)_handle.DangerousGetHandle()) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Qcow2Exception(errno == NativeMethods.ENoSpc ? Qcow2ErrorKind.NoSpace : Qcow2ErrorKind.Io,
                $"flush failed: {Marshal.GetPInvokeErrorMessage(errno)}", Path, operation: "flushing");
        }
    }

    /// <summary>
    /// Through the page cache: starts writing the range back now, without waiting (sync_file_range WRITE). A large
    /// copy hints each batch, so the disk writes while the copy goes on and the flush at its end finds little left;
    /// otherwise the kernel holds it all (far below its dirty thresholds on a big host) until that flush. Durability
    /// still comes only from <see cref="Flush"/>. A no-op with O_DIRECT, whose writes are already on their way.
    /// </summary>
    public void StartWriteback(long offset, long length)
    {
        if (Cache == CacheMode.PageCache && length > 0)
        {
            // Only a hint: a failure here is reported by the flush that follows, if it is real.
            _ = NativeMethods.SyncFileRange((int)_handle.DangerousGetHandle(), offset, length, NativeMethods.SyncFileRangeWrite);
        }
    }

    /// <summary>
    /// Where the next hole (when <paramref name="data"/> is false) or data (when true) starts at or after
    /// <paramref name="offset"/>; the file length when there is none. Used to report sparse data clusters as qemu-img map does.
    /// </summary>
    public long Seek(long offset, bool data)
    {
        var result = NativeMethods.LSeek((int)_handle.DangerousGetHandle(), offset, data ? NativeMethods.SeekData : NativeMethods.SeekHole);
        if (result < 0)
        {
            return Length;
        }

        return result;
    }

    /// <summary>Bytes the file occupies on the file system (st_blocks x 512, preallocated extents included), as QEMU's allocated size.</summary>
    public unsafe long AllocatedBytes()
    {
        const int statxSize = 256;
        const int blocksOffset = 48;
        var buffer = stackalloc byte[statxSize];
        if (NativeMethods.Statx((int)_handle.DangerousGetHandle(), "", NativeMethods.AtEmptyPath, NativeMethods.StatxBlocks, buffer) != 0)
        {
            return Length;
        }

        return (long)(*(ulong*)(buffer + blocksOffset)) * 512;
    }

    private static unsafe bool IsAligned(ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            return ((nint)p & (Align - 1)) == 0 && (offset & (Align - 1)) == 0 && (buffer.Length & (Align - 1)) == 0;
        }
    }

    private AlignedBuffer Bounce(int length)
    {
        if (_bounce is null || _bounce.Length < length)
        {
            _bounce?.Dispose();
            _bounce = new AlignedBuffer(AlignedBuffer.RoundUp(Math.Max(length, 64 * 1024)));
        }

        return _bounce;
    }

    private void ReadBounced(Span<byte> buffer, long offset)
    {
        var start = offset & ~(long)(Align - 1);
        var end = (offset + buffer.Length + Align - 1) & ~(long)(Align - 1);
        var bounce = Bounce((int)(end - start));
        var window = bounce.Span[..(int)(end - start)];
        Read(window, start);
        window.Slice((int)(offset - start), buffer.Length).CopyTo(buffer);
    }

    private void WriteBounced(ReadOnlySpan<byte> data, long offset)
    {
        var start = offset & ~(long)(Align - 1);
        var end = (offset + data.Length + Align - 1) & ~(long)(Align - 1);
        var bounce = Bounce((int)(end - start));
        var window = bounce.Span[..(int)(end - start)];
        if (start != offset || end != offset + data.Length)
        {
            Read(window, start);
        }

        data.CopyTo(window[(int)(offset - start)..]);
        Write(window, start);
    }

    /// <summary>True when the request was refused as invalid (EINVAL): what some file systems answer to a direct request they do not take.</summary>
    public static bool IsInvalidArgument(Qcow2Exception e) =>
        e.InnerException is IOException io && (io.HResult & 0xFFFF) == NativeMethods.EInval;

    private Qcow2Exception Wrap(IOException e, string operation, long offset)
    {
        var kind = (e.HResult & 0xFFFF) == NativeMethods.ENoSpc || e.Message.Contains("No space", StringComparison.Ordinal)
            ? Qcow2ErrorKind.NoSpace
            : Qcow2ErrorKind.Io;
        return new Qcow2Exception(kind, e.Message, Path, offset, operation, e);
    }

    public void Dispose()
    {
        // Unlock (and forget) before the close; a descriptor already closed took its locks with it.
        if (_lock is not null && !_handle.IsClosed)
        {
            _lock.Unlock(_handle);
        }

        _handle.Dispose();
        _lock?.Dispose();
        _bounce?.Dispose();
    }
}
