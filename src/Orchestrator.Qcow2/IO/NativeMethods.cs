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
    public const int ENoSpc = 28;
    public const int EInval = 22;

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
