using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Cli.Demo;

/// <summary>
/// The demo's guest: a minimal NBD client (fixed newstyle handshake, NBD_OPT_GO, simple replies, one request at a
/// time) over a Unix socket, so the demo needs no qemu. It speaks only what a guest's block layer needs: read, write,
/// flush, disconnect.
/// </summary>
public sealed class NbdGuestClient : IDisposable
{
    private const ulong InitMagic = 0x4e42444d41474943; // "NBDMAGIC"
    private const ulong OptionMagic = 0x49484156454F5054; // "IHAVEOPT"
    private const ulong OptionReplyMagic = 0x3e889045565a9;
    private const uint RequestMagic = 0x25609513;
    private const uint SimpleReplyMagic = 0x67446698;
    private const uint OptGo = 7;
    private const uint RepAck = 1;
    private const uint RepInfo = 3;
    private const ushort InfoExport = 0;
    private const ushort CmdRead = 0;
    private const ushort CmdWrite = 1;
    private const ushort CmdDisconnect = 2;
    private const ushort CmdFlush = 3;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _header = new byte[28];
    private ulong _nextHandle;

    private NbdGuestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>The export's size in bytes.</summary>
    public long Size { get; private set; }

    public static NbdGuestClient Connect(string socketPath, string export)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        var client = new NbdGuestClient(socket);
        try
        {
            client.Handshake(export);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private void Handshake(string export)
    {
        var greeting = ReadExactly(18);
        if (BinaryPrimitives.ReadUInt64BigEndian(greeting) != InitMagic || BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)) != OptionMagic)
        {
            throw new IOException("the NBD server did not offer the newstyle handshake");
        }

        // Client flags: fixed newstyle, no zeroes.
        Write32(3);
        var name = Encoding.UTF8.GetBytes(export);
        var option = new byte[16 + 4 + name.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(option, OptionMagic);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(8), OptGo);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)(4 + name.Length + 2));
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(16), (uint)name.Length);
        name.CopyTo(option, 20);
        _stream.Write(option);

        while (true)
        {
            var reply = ReadExactly(20);
            var type = BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12));
            var data = ReadExactly((int)BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(16)));
            if (BinaryPrimitives.ReadUInt64BigEndian(reply) != OptionReplyMagic)
            {
                throw new IOException("the NBD server sent a malformed option reply");
            }

            if ((type & 0x80000000) != 0)
            {
                throw new IOException($"the NBD server refused export '{export}': {Encoding.UTF8.GetString(data)}");
            }

            if (type == RepInfo && data.Length >= 12 && BinaryPrimitives.ReadUInt16BigEndian(data) == InfoExport)
            {
                Size = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
            }
            else if (type == RepAck)
            {
                return;
            }
        }
    }

    public void Read(long offset, Span<byte> buffer)
    {
        Send(CmdRead, offset, buffer.Length, ReadOnlySpan<byte>.Empty);
        ReceiveReply();
        _stream.ReadExactly(buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Send(CmdWrite, offset, data.Length, data);
        ReceiveReply();
    }

    public void Flush()
    {
        Send(CmdFlush, 0, 0, ReadOnlySpan<byte>.Empty);
        ReceiveReply();
    }

    private void Send(ushort command, long offset, int length, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_header, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(_header.AsSpan(4), 0);
        BinaryPrimitives.WriteUInt16BigEndian(_header.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(_header.AsSpan(8), ++_nextHandle);
        BinaryPrimitives.WriteUInt64BigEndian(_header.AsSpan(16), (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(_header.AsSpan(24), (uint)length);
        _stream.Write(_header);
        if (!data.IsEmpty)
        {
            _stream.Write(data);
        }
    }

    private void ReceiveReply()
    {
        Span<byte> reply = stackalloc byte[16];
        _stream.ReadExactly(reply);
        if (BinaryPrimitives.ReadUInt32BigEndian(reply) != SimpleReplyMagic || BinaryPrimitives.ReadUInt64BigEndian(reply[8..]) != _nextHandle)
        {
            throw new IOException("the NBD server sent an unexpected reply");
        }

        var error = BinaryPrimitives.ReadUInt32BigEndian(reply[4..]);
        if (error != 0)
        {
            throw new IOException($"the NBD server answered error {error}");
        }
    }

    private void Write32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        _stream.Write(bytes);
    }

    private byte[] ReadExactly(int count)
    {
        var bytes = new byte[count];
        _stream.ReadExactly(bytes);
        return bytes;
    }

    public void Dispose()
    {
        try
        {
            if (_socket.Connected)
            {
                Send(CmdDisconnect, 0, 0, ReadOnlySpan<byte>.Empty);
            }
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }

        _stream.Dispose();
        _socket.Dispose();
    }
}
