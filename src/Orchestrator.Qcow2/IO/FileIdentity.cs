using System.Runtime.InteropServices;

namespace Orchestrator.Qcow2.IO;

/// <summary>
/// What a file is, independent of the name it was reached by: its device and inode (the same through a hard link,
/// a symlink or '..'), and whether it is a regular file. Read with statx(2), whose layout is the same on every
/// architecture.
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, bool IsRegularFile)
{
    // struct statx offsets (linux/stat.h): stx_mode u16 at 28, stx_ino u64 at 32, stx_dev_major/minor u32 at 136/140.
    private const int ModeOffset = 28;
    private const int InodeOffset = 32;
    private const int DevMajorOffset = 136;
    private const int DevMinorOffset = 140;
    private const int StatxSize = 256;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const ushort TypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;

    /// <summary>A stable text form, "major:minor:inode", fit for a map key or a journal field.</summary>
    public string Key => $"{Device >> 32}:{Device & 0xFFFFFFFF}:{Inode}";

    /// <summary>The identity of the file a path names now, following symlinks.</summary>
    public static FileIdentity Of(string path) => Read(-100 /* AT_FDCWD */, path, 0, path);

    /// <summary>The identity of an open file descriptor: what was actually opened, whatever the name says now.</summary>
    public static FileIdentity Of(SafeHandle handle, string pathForErrors) =>
        Read((int)handle.DangerousGetHandle(), "", NativeMethods.AtEmptyPath, pathForErrors);

    private static unsafe FileIdentity Read(int dirfd, string path, int flags, string pathForErrors)
    {
        var buffer = stackalloc byte[StatxSize];
        new Span<byte>(buffer, StatxSize).Clear();
        if (NativeMethods.Statx(dirfd, path, flags, StatxType | StatxIno, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Qcow2Exception(Qcow2ErrorKind.Io, $"cannot stat: {Marshal.GetPInvokeErrorMessage(errno)}", pathForErrors, operation: "stat");
        }

        var mode = *(ushort*)(buffer + ModeOffset);
        var inode = *(ulong*)(buffer + InodeOffset);
        var device = ((ulong)*(uint*)(buffer + DevMajorOffset) << 32) | *(uint*)(buffer + DevMinorOffset);
        return new FileIdentity(device, inode, (mode & TypeMask) == RegularFile);
    }
}
