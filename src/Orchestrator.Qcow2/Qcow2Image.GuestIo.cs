using Orchestrator.Qcow2.IO;

namespace Orchestrator.Qcow2;

/// <summary>
/// Raw data I/O for a caller that resolves guest offsets itself (under its own metadata lock) and then reads or
/// writes the data clusters outside that lock, several requests at once: the live guest path.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// True when I/O of <paramref name="buffer"/> at <paramref name="hostOffset"/> can run beside other I/O on this image:
    /// always through the page cache; with O_DIRECT only when the buffer, offset and length are aligned, because an
    /// unaligned request goes through the file's one bounce buffer (which must then be used under the caller's lock).
    /// </summary>
    public unsafe bool CanAccessConcurrently(ReadOnlySpan<byte> buffer, long hostOffset)
    {
        if (Cache != CacheMode.Direct)
        {
            return true;
        }

        fixed (byte* p = buffer)
        {
            return (((nint)p | (nint)hostOffset | buffer.Length) & (AlignedBuffer.Alignment - 1)) == 0;
        }
    }

    /// <summary>Reads the bytes of data clusters at <paramref name="hostOffset"/> (an offset an extent gave).</summary>
    public void ReadData(Span<byte> buffer, long hostOffset) => _file.Read(buffer, hostOffset);

    /// <summary>
    /// Overwrites bytes of data clusters at <paramref name="hostOffset"/> that an extent showed allocated as data (with
    /// refcount 1); no metadata changes. The caller keeps the clusters from being freed or reallocated meanwhile.
    /// </summary>
    public void WriteDataInPlace(ReadOnlySpan<byte> data, long hostOffset) => WriteInPlace(hostOffset, data);
}
