using System.Runtime.InteropServices;

namespace Orchestrator.Qcow2.IO;

/// <summary>Native memory aligned for O_DIRECT; used for every data-path buffer so both cache modes share one code path.</summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    public const int Alignment = 4096;
    private byte* _pointer;

    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)RoundUp(length), Alignment);
    }

    public int Length { get; }

    public Span<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new Span<byte>(_pointer, Length);
        }
    }

    public static int RoundUp(int length) => (length + Alignment - 1) & ~(Alignment - 1);

    public void Dispose()
    {
        if (_pointer != null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
