using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>
/// Sends one connection's replies, whole and one at a time: requests complete in any order on their own tasks, and
/// each reply (header and data) is written under one lock so replies never interleave on the wire. Simple replies
/// unless the client negotiated structured ones.
/// </summary>
internal sealed class NbdReplyWriter(NbdChannel channel, bool structured)
{
    public const int SimpleHeaderSize = 16;

    /// <summary>A structured chunk header (20 bytes) plus the 64-bit offset of NBD_REPLY_TYPE_OFFSET_DATA.</summary>
    public const int StructuredDataHeaderSize = 28;

    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>The header bytes in front of a read's data.</summary>
    public int ReadHeaderSize => structured ? StructuredDataHeaderSize : SimpleHeaderSize;

    /// <summary>A successful read: the header is written just in front of the data already in <paramref name="buffer"/>.</summary>
    public async ValueTask SendReadAsync(ulong cookie, ulong offset, NbdBuffer buffer, int length, CancellationToken cancel)
    {
        var start = NbdBuffer.DataOffset - ReadHeaderSize;
        var header = buffer.GetSpan().Slice(start, ReadHeaderSize);
        if (structured)
        {
            WriteChunkHeader(header, NbdReplyFlags.Done, NbdReplyType.OffsetData, cookie, 8 + length);
            BinaryPrimitives.WriteUInt64BigEndian(header[20..], offset);
        }
        else
        {
            WriteSimpleHeader(header, cookie, NbdError.None);
        }

        await SendAsync(buffer.Slice(start, ReadHeaderSize + length), cancel);
    }

    /// <summary>The reply of a request with no data: success, or an error (with <paramref name="message"/> when structured).</summary>
    public async ValueTask SendStatusAsync(ulong cookie, NbdError error, string message, CancellationToken cancel)
    {
        if (!structured)
        {
            var simple = new byte[SimpleHeaderSize];
            WriteSimpleHeader(simple, cookie, error);
            await SendAsync(simple, cancel);
            return;
        }

        if (error == NbdError.None)
        {
            var none = new byte[20];
            WriteChunkHeader(none, NbdReplyFlags.Done, NbdReplyType.None, cookie, 0);
            await SendAsync(none, cancel);
            return;
        }

        // NBD_REPLY_TYPE_ERROR: 32-bit error, 16-bit message length, the message (kept short and whole UTF-8).
        var text = Encoding.UTF8.GetBytes(message.Length > 200 ? message[..200] : message);
        var reply = new byte[20 + 6 + text.Length];
        WriteChunkHeader(reply, NbdReplyFlags.Done, NbdReplyType.Error, cookie, 6 + text.Length);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(20), (uint)error);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(24), (ushort)text.Length);
        text.CopyTo(reply, 26);
        await SendAsync(reply, cancel);
    }

    /// <summary>NBD_REPLY_TYPE_BLOCK_STATUS for the base:allocation context: (32-bit length, 32-bit flags) per extent.</summary>
    public async ValueTask SendBlockStatusAsync(ulong cookie, IReadOnlyList<NbdExtent> extents, CancellationToken cancel)
    {
        var length = 20 + 4 + (8 * extents.Count);
        var reply = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            WriteChunkHeader(reply, NbdReplyFlags.Done, NbdReplyType.BlockStatus, cookie, length - 20);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(20), NbdSession.AllocationContextId);
            for (var i = 0; i < extents.Count; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(24 + (8 * i)), (uint)extents[i].Length);
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(28 + (8 * i)), (uint)extents[i].Flags);
            }

            await SendAsync(reply.AsMemory(0, length), cancel);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(reply);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancel)
    {
        await _lock.WaitAsync(cancel);
        try
        {
            await channel.WriteAsync(bytes, cancel);
        }
        finally
        {
            _lock.Release();
        }
    }

    private static void WriteSimpleHeader(Span<byte> header, ulong cookie, NbdError error)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdMagic.SimpleReply);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
    }

    private static void WriteChunkHeader(Span<byte> header, NbdReplyFlags flags, NbdReplyType type, ulong cookie, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdMagic.StructuredReply);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(header[16..], (uint)length);
    }
}
