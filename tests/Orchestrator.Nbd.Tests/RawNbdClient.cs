using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Nbd.Tests;

/// <summary>
/// A byte-level NBD client over a Unix socket: it sends exactly what a test says, including what no real client
/// would send (bad magic, lying lengths, unknown flags), and reads the server's answers field by field.
/// </summary>
internal sealed class RawNbdClient : IAsyncDisposable
{
    public const ulong NbdMagic = 0x4e42444d41474943;
    public const ulong OptionMagic = 0x49484156454f5054;
    public const ulong OptionReplyMagic = 0x0003e889045565a9;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint RepAck = 1;
    public const uint RepServer = 2;
    public const uint RepInfo = 3;
    public const uint ErrUnsup = 0x80000001;
    public const uint ErrInvalid = 0x80000003;
    public const uint ErrUnknown = 0x80000006;
    public const uint ErrTooBig = 0x80000009;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawNbdClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public sealed record OptionReply(uint Option, uint Type, byte[] Data)
    {
        public string Text => Encoding.UTF8.GetString(Data);
    }

    public sealed record Reply(uint Error, ulong Cookie, byte[] Data);

    /// <summary>One structured reply chunk: flags (bit 0 = done), type, cookie, and its payload.</summary>
    public sealed record Chunk(ushort Flags, ushort Type, ulong Cookie, byte[] Payload)
    {
        public const uint Magic = 0x668e33ef;
        public const ushort TypeNone = 0;
        public const ushort TypeOffsetData = 1;
        public const ushort TypeBlockStatus = 5;
        public const ushort TypeError = 0x8001;

        public uint Error => Type == TypeError ? BinaryPrimitives.ReadUInt32BigEndian(Payload) : 0;

        public string Message => Type == TypeError ? Encoding.UTF8.GetString(Payload, 6, BinaryPrimitives.ReadUInt16BigEndian(Payload.AsSpan(4))) : "";

        /// <summary>BLOCK_STATUS descriptors (length, flags) after the 32-bit context id.</summary>
        public List<(uint Length, uint Flags)> Extents()
        {
            var extents = new List<(uint, uint)>();
            for (var i = 4; i + 8 <= Payload.Length; i += 8)
            {
                extents.Add((BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(i)), BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(i + 4))));
            }

            return extents;
        }
    }

    public static async Task<RawNbdClient> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return new RawNbdClient(socket);
    }

    /// <summary>The server's greeting: NBDMAGIC, IHAVEOPT, 16-bit handshake flags.</summary>
    public async Task<(ulong Magic, ulong OptionMagic, ushort Flags)> ReadGreetingAsync()
    {
        var greeting = await ReadAsync(18);
        return (BinaryPrimitives.ReadUInt64BigEndian(greeting), BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)),
            BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16)));
    }

    /// <summary>Reads the greeting and answers with <paramref name="clientFlags"/> (fixed newstyle and no zeroes by default).</summary>
    public async Task HandshakeAsync(uint clientFlags = 3)
    {
        await ReadGreetingAsync();
        await SendUInt32Async(clientFlags);
    }

    public Task SendUInt32Async(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return SendRawAsync(bytes);
    }

    public Task SendOptionAsync(uint option, byte[]? data = null) => SendOptionAsync(OptionMagic, option, (uint)(data?.Length ?? 0), data);

    /// <summary>An option header with any magic and any claimed length, followed by <paramref name="data"/> (which may be shorter).</summary>
    public async Task SendOptionAsync(ulong magic, uint option, uint claimedLength, byte[]? data)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), claimedLength);
        await SendRawAsync([.. header, .. data ?? []]);
    }

    /// <summary>NBD_OPT_INFO / NBD_OPT_GO data: name length, name, info request count, requests.</summary>
    public static byte[] InfoData(string name, params ushort[] requests)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + nameBytes.Length + 2 + (2 * requests.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)nameBytes.Length);
        nameBytes.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4 + nameBytes.Length), (ushort)requests.Length);
        for (var i = 0; i < requests.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(6 + nameBytes.Length + (2 * i)), requests[i]);
        }

        return data;
    }

    public async Task<OptionReply> ReadOptionReplyAsync()
    {
        var header = await ReadAsync(20);
        var magic = BinaryPrimitives.ReadUInt64BigEndian(header);
        Assert.Equal(OptionReplyMagic, magic);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        return new OptionReply(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)),
            await ReadAsync((int)length));
    }

    /// <summary>Replies up to and including the first one that is not NBD_REP_INFO or NBD_REP_SERVER (an ACK or an error).</summary>
    public async Task<List<OptionReply>> ReadOptionRepliesAsync()
    {
        var replies = new List<OptionReply>();
        while (true)
        {
            var reply = await ReadOptionReplyAsync();
            replies.Add(reply);
            if (reply.Type is not (RepInfo or RepServer))
            {
                return replies;
            }
        }
    }

    /// <summary>Handshake, then NBD_OPT_GO for <paramref name="export"/>; fails the test unless it is acknowledged.</summary>
    public async Task GoAsync(string export)
    {
        await HandshakeAsync();
        await GoAsyncAfterHandshake(export);
    }

    /// <summary>NBD_OPT_GO for <paramref name="export"/> on a connection past the greeting; fails the test unless it is acknowledged.</summary>
    public async Task GoAsyncAfterHandshake(string export)
    {
        await SendOptionAsync(7, InfoData(export));
        var replies = await ReadOptionRepliesAsync();
        Assert.Equal(RepAck, replies[^1].Type);
    }

    /// <summary>NBD_OPT_SET/LIST_META_CONTEXT data: name length, name, query count, each query's length and text.</summary>
    public static byte[] MetaContextData(string name, params string[] queries)
    {
        var parts = new List<byte>();
        void AddString(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
            parts.AddRange(length);
            parts.AddRange(bytes);
        }

        AddString(name);
        var count = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(count, (uint)queries.Length);
        parts.AddRange(count);
        foreach (var query in queries)
        {
            AddString(query);
        }

        return [.. parts];
    }

    /// <summary>Handshake with structured replies and, when asked, the base:allocation context, then NBD_OPT_GO.</summary>
    public async Task StructuredGoAsync(string export, bool allocation = true)
    {
        await HandshakeAsync();
        await SendOptionAsync(8);
        Assert.Equal(RepAck, (await ReadOptionReplyAsync()).Type);
        if (allocation)
        {
            await SendOptionAsync(10, MetaContextData(export, "base:allocation"));
            var context = await ReadOptionReplyAsync();
            Assert.Equal(4u, context.Type);
            Assert.Equal("base:allocation", Encoding.UTF8.GetString(context.Data, 4, context.Data.Length - 4));
            Assert.Equal(RepAck, (await ReadOptionReplyAsync()).Type);
        }

        await SendOptionAsync(7, InfoData(export));
        Assert.Equal(RepAck, (await ReadOptionRepliesAsync())[^1].Type);
    }

    public async Task<Chunk> ReadChunkAsync()
    {
        var header = await ReadAsync(20);
        Assert.Equal(Chunk.Magic, BinaryPrimitives.ReadUInt32BigEndian(header));
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        return new Chunk(BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), await ReadAsync((int)length));
    }

    public async Task SendRequestAsync(ushort flags, ushort type, ulong cookie, ulong offset, uint length, byte[]? payload = null, uint magic = RequestMagic)
    {
        var header = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(header, magic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
        await SendRawAsync([.. header, .. payload ?? []]);
    }

    /// <summary>A simple reply; <paramref name="readLength"/> bytes of data follow it only when it succeeded.</summary>
    public async Task<Reply> ReadReplyAsync(int readLength = 0)
    {
        var header = await ReadAsync(16);
        Assert.Equal(SimpleReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(header));
        var error = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var cookie = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
        return new Reply(error, cookie, error == 0 && readLength > 0 ? await ReadAsync(readLength) : []);
    }

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Half-closes: the server sees the end of the stream after what was sent.</summary>
    public void EndSending() => _socket.Shutdown(SocketShutdown.Send);

    public async Task<byte[]> ReadAsync(int length)
    {
        var buffer = new byte[length];
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await _stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer;
    }

    /// <summary>True when the server closed the connection (end of stream or reset) instead of sending anything.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(ReadTimeout);
        try
        {
            return await _stream.ReadAsync(buffer, timeout.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
