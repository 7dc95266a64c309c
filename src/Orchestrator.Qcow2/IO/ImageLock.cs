using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Orchestrator.Qcow2.IO;

/// <summary>
/// QEMU's image locking (block/file-posix.c), so QEMU and we see each other: open file description (OFD) read locks
/// on single bytes. Byte 100+i is held for each permission i the open takes; byte 200+i for each permission it does not
/// share with others. An open conflicts when someone holds 200+i for a permission it wants, or 100+i for one it does
/// not share. As QEMU does, the bytes are locked first and checked second, so two openers racing each see the other.
/// OFD locks of one process conflict with each other too; the process's own holders are counted in a table, and a
/// conflict only they explain is not one (two disks of one node are kept apart by the engine, not by these locks).
/// </summary>
internal sealed class ImageLock : IDisposable
{
    // QEMU's RAW_LOCK_PERM_BASE and RAW_LOCK_SHARED_BASE (libvirt uses the bytes below 100).
    private const long PermBase = 100;
    private const long SharedBase = 200;

    // BLK_PERM_* bit numbers, as QEMU names them in its lock errors.
    private static readonly string[] _permNames = ["consistent read", "write", "write unchanged", "resize"];
    private const int ConsistentRead = 0;
    private const int Write = 1;
    private const int WriteUnchanged = 2;
    private const int Resize = 3;

    private static readonly Dictionary<(ulong Device, ulong Inode, long Byte), int> _heldHere = [];

    private readonly FileIdentity _identity;
    private readonly long[] _bytes;
    private bool _released;

    private ImageLock(FileIdentity identity, long[] bytes)
    {
        _identity = identity;
        _bytes = bytes;
    }

    /// <summary>
    /// Takes the bytes of a writable open (all permissions; write and resize not shared, as QEMU's qcow2 driver) or of
    /// a read-only one (consistent read; write and resize not shared, as QEMU does for a backing file).
    /// </summary>
    public static ImageLock Acquire(SafeFileHandle handle, FileIdentity identity, bool writable, string path)
    {
        int[] perms = writable ? [ConsistentRead, Write, WriteUnchanged, Resize] : [ConsistentRead];
        int[] notShared = [Write, Resize];
        var bytes = perms.Select(p => PermBase + p).Concat(notShared.Select(p => SharedBase + p)).ToArray();
        var fd = (int)handle.DangerousGetHandle();

        // Locking, checking and recording form one step within the process, so the table always knows every lock
        // this process's descriptors hold: two opens of one image on two threads never take each other for a stranger.
        lock (_heldHere)
        {
            try
            {
                foreach (var b in bytes)
                {
                    if (SetLock(fd, NativeMethods.FRdLck, b) != 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        throw new Qcow2Exception(Qcow2ErrorKind.Locked,
                            $"image is locked by another process (cannot lock byte {b}: {Marshal.GetPInvokeErrorMessage(errno)})", path, operation: "locking");
                    }
                }

                foreach (var p in perms)
                {
                    RefuseConflict(fd, identity, SharedBase + p, path, $"another process does not share the '{_permNames[p]}' permission this open needs");
                }

                foreach (var p in notShared)
                {
                    RefuseConflict(fd, identity, PermBase + p, path, $"another process holds the '{_permNames[p]}' permission this open does not share");
                }
            }
            catch
            {
                foreach (var b in bytes)
                {
                    _ = SetLock(fd, NativeMethods.FUnLck, b);
                }

                throw;
            }

            foreach (var b in bytes)
            {
                var key = (identity.Device, identity.Inode, b);
                _heldHere[key] = _heldHere.GetValueOrDefault(key) + 1;
            }
        }

        return new ImageLock(identity, bytes);
    }

    /// <summary>
    /// Unlocks the bytes explicitly, before the descriptor closes: a child process forked meanwhile (any Process.Start
    /// of this process) shares the open file description until its exec, and would otherwise keep the locks alive
    /// after the close, where no one here knows of them.
    /// </summary>
    public unsafe void Unlock(SafeFileHandle handle)
    {
        var fd = (int)handle.DangerousGetHandle();
        lock (_heldHere)
        {
            foreach (var b in _bytes)
            {
                _ = SetLock(fd, NativeMethods.FUnLck, b);
            }

            Forget();
        }
    }

    /// <summary>Forgets this holder (after <see cref="Unlock"/>, or once its descriptor is closed).</summary>
    public void Dispose()
    {
        lock (_heldHere)
        {
            Forget();
        }
    }

    private void Forget()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        foreach (var b in _bytes)
        {
            var key = (_identity.Device, _identity.Inode, b);
            var left = _heldHere.GetValueOrDefault(key) - 1;
            if (left > 0)
            {
                _heldHere[key] = left;
            }
            else
            {
                _heldHere.Remove(key);
            }
        }
    }

    private static void RefuseConflict(int fd, FileIdentity identity, long b, string path, string why)
    {
        if (!Conflicts(fd, b) || _heldHere.ContainsKey((identity.Device, identity.Inode, b)))
        {
            return;
        }

        throw new Qcow2Exception(Qcow2ErrorKind.Locked,
            $"image is locked by another process: {why} (QEMU lock byte {b}); is a VM, qemu-nbd or another node using it?", path, operation: "locking");
    }

    /// <summary>F_OFD_GETLK with a write lock: true when any other open file description holds a lock on the byte.</summary>
    private static unsafe bool Conflicts(int fd, long b)
    {
        var probe = new NativeMethods.Flock { Type = NativeMethods.FWrLck, Whence = 0, Start = b, Length = 1 };
        if (NativeMethods.Fcntl(fd, NativeMethods.FOfdGetLk, &probe) != 0)
        {
            // Locking unsupported here (some network file systems): QEMU's locking=auto treats that as no lock.
            return false;
        }

        return probe.Type != NativeMethods.FUnLck;
    }

    private static unsafe int SetLock(int fd, short type, long b)
    {
        var request = new NativeMethods.Flock { Type = type, Whence = 0, Start = b, Length = 1 };
        var result = NativeMethods.Fcntl(fd, NativeMethods.FOfdSetLk, &request);
        if (result != 0 && Marshal.GetLastPInvokeError() is NativeMethods.ENoLck or NativeMethods.EOpNotSupp or NativeMethods.EInval)
        {
            return 0;
        }

        return result;
    }
}
