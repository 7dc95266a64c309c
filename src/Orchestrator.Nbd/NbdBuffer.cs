using System.Buffers;
using System.Runtime.InteropServices;

namespace Orchestrator.Nbd;

/// <summary>
/// One request's buffer, in memory mapped straight from the kernel (not the GC heap, not malloc's arenas), so that
/// freeing it gives the pages back to the operating system at once: the server's memory follows its load, and idle
/// connections cost nothing. The data starts at <see cref="DataOffset"/> (page-aligned, so O_DIRECT needs no bounce
/// buffer); a reply header is written just in front of it, so header and data go out in one write.
/// </summary>
internal sealed unsafe partial class NbdBuffer : MemoryManager<byte>
{
    /// <summary>Where the data starts: one page, room for the largest reply header in front of the data.</summary>
    public const int DataOffset = 4096;

    private const int ProtReadWrite = 0x1 | 0x2;
    private const int MapPrivateAnonymous = 0x02 | 0x20;
    private byte* _pointer;

    private NbdBuffer(byte* pointer, int capacity)
    {
        _pointer = pointer;
        Capacity = capacity;
    }

    /// <summary>Bytes mapped, <see cref="DataOffset"/> included; a multiple of the page size.</summary>
    public int Capacity { get; }

    /// <summary>The bytes of the pool's budget this buffer holds while rented (what was asked for, not what a reused buffer has).</summary>
    public int Charged { get; set; }

    /// <summary>Room for data, after <see cref="DataOffset"/>.</summary>
    public int DataCapacity => Capacity - DataOffset;

    /// <summary>The mapping needed for <paramref name="dataLength"/> bytes of data: the data rounded up to a page, plus the header page.</summary>
    public static int CapacityFor(int dataLength) => checked(DataOffset + ((dataLength + 4095) & ~4095));

    public static NbdBuffer Allocate(int capacity)
    {
        byte* pointer;
        if (OperatingSystem.IsLinux())
        {
            var mapped = Mmap(0, (nuint)capacity, ProtReadWrite, MapPrivateAnonymous, -1, 0);
            if (mapped == -1)
            {
                throw new OutOfMemoryException($"mmap of {capacity} bytes for an NBD buffer failed (errno {Marshal.GetLastPInvokeError()})");
            }

            pointer = (byte*)mapped;
        }
        else
        {
            pointer = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, DataOffset);
        }

        return new NbdBuffer(pointer, capacity);
    }

    /// <summary>The data area, <paramref name="length"/> bytes.</summary>
    public Span<byte> Data(int length) => new(_pointer + DataOffset, length);

    /// <summary>The bytes [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of the whole buffer, for the socket.</summary>
    public Memory<byte> Slice(int start, int length) => Memory.Slice(start, length);

    public override Span<byte> GetSpan() => new(_pointer, Capacity);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
        // Native memory never moves.
    }

    protected override void Dispose(bool disposing)
    {
        var pointer = _pointer;
        _pointer = null;
        if (pointer is null)
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            _ = Munmap((nint)pointer, (nuint)Capacity);
        }
        else
        {
            NativeMemory.AlignedFree(pointer);
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);
}
