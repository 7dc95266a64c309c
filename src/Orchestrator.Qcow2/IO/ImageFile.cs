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

    private ImageFile(string path, SafeFileHandle handle, CacheMode cache, bool writable)
    {
        Path = path;
        _handle = handle;
        Cache = cache;
        Writable = writable;
    }

    public string Path { get; }

    public CacheMode Cache { get; }

    public bool Writable { get; }

    public long Length => RandomAccess.GetLength(_handle);

    public static ImageFile Open(string path, bool writable, CacheMode cache) =>
        OpenCore(path, (writable ? NativeMethods.ORdWr : NativeMethods.ORdOnly), cache, writable, "opening");

    /// <summary>Creates a new file; fails if it already exists (never overwrites a user's image).</summary>
    public static ImageFile CreateNew(string path, CacheMode cache) =>
        OpenCore(path, NativeMethods.ORdWr | NativeMethods.OCreat | NativeMethods.OExcl, cache, true, "creating");

    private static ImageFile OpenCore(string path, int flags, CacheMode cache, bool writable, string operation)
    {
        flags |= NativeMethods.OCloexec;
        if (cache == CacheMode.Direct)
        {
            flags |= NativeMethods.ODirect;
        }

        var fd = NativeMethods.Open(path, flags, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var reason = Marshal.GetPInvokeErrorMessage(errno);
            if (errno == NativeMethods.EInval && cache == CacheMode.Direct)
            {
                reason += " (the file system does not support O_DIRECT; use the page cache mode)";
            }

            throw new Qcow2Exception(Qcow2ErrorKind.Io, $"cannot open: {reason}", path, operation: operation, errno: errno);
        }

        return new ImageFile(path, new SafeFileHandle(fd, ownsHandle: true), cache, writable);
    }

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
        _handle.Dispose();
        _bounce?.Dispose();
    }
}
