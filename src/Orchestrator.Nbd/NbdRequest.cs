using System.Buffers.Binary;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>One transmission request header (28 bytes): magic, flags, type, cookie, offset, length.</summary>
internal readonly record struct NbdRequest(NbdCommandFlags Flags, NbdCommand Command, ulong Cookie, ulong Offset, uint Length)
{
    public const int Size = 28;

    /// <exception cref="NbdProtocolException">The magic is wrong: the stream is out of step and cannot be trusted.</exception>
    public static NbdRequest Parse(ReadOnlySpan<byte> header)
    {
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != NbdMagic.Request)
        {
            throw new NbdProtocolException($"request with bad magic 0x{magic:x8}");
        }

        return new NbdRequest(
            (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header[4..]),
            (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header[6..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(header[24..]));
    }

    /// <summary>True when [offset, offset + length) lies inside an export of <paramref name="size"/> bytes (no overflow).</summary>
    public bool FitsIn(long size) => Offset <= (ulong)size && Length <= (ulong)size - Offset;
}
