using System.Runtime.InteropServices;

namespace Orchestrator.Qcow2.IO;

/// <summary>The few libc calls .NET does not expose: O_DIRECT opens, fdatasync, SEEK_DATA/SEEK_HOLE.</summary>
internal static partial class NativeMethods
{
    // Linux x86_64/aarch64 values (asm-generic/fcntl.h).
    public const int ORdOnly = 0x0;
    public const int ORdWr = 0x2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int ODirect = 0x4000;
    public const int OCloexec = 0x80000;
    public const int SeekData = 3;
    public const int SeekHole = 4;
    public const int ENxio = 6;
    public const int EIsDir = 21;
    public const int ENoSpc = 28;
    public const int EInval = 22;
    public const int ENoLck = 37;
    public const int EOpNotSupp = 95;
    public const int ONonblock = 0x800;
    public const int FGetFl = 3;
    public const int FSetFl = 4;

    // Open file description locks (linux/fcntl.h), the kind QEMU's image locking uses.
    public const int FOfdGetLk = 36;
    public const int FOfdSetLk = 37;
    public const short FRdLck = 0;
    public const short FWrLck = 1;
    public const short FUnLck = 2;

    /// <summary>struct flock (64-bit Linux): l_type, l_whence, then 8-aligned l_start, l_len, l_pid.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static unsafe partial int Fcntl(int fd, int cmd, Flock* arg);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int FDataSync(int fd);

    public const int AtEmptyPath = 0x1000;
    public const uint StatxBlocks = 0x400;

    /// <summary>statx(2): its struct layout is the same on every architecture, unlike struct stat.</summary>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    public const uint SyncFileRangeWrite = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    public static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(int fd, long offset, int whence);
}
