using System.Buffers.Binary;
using System.Text;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>
/// The fixed-newstyle handshake (doc/proto.md, "Handshake"): greeting, client flags, then option haggling until the
/// client enters transmission (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) or leaves (NBD_OPT_ABORT, end of stream).
/// NBD_OPT_STRUCTURED_REPLY and the base:allocation metadata context (NBD_OPT_SET_META_CONTEXT, NBD_OPT_LIST_META_CONTEXT)
/// are offered; every other option is refused with ERR_UNSUP.
/// </summary>
internal sealed partial class NbdNegotiation(NbdChannel channel, INbdExportProvider exports)
{
    private const NbdHandshakeFlags ServerFlags = NbdHandshakeFlags.FixedNewstyle | NbdHandshakeFlags.NoZeroes;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private NbdHandshakeFlags _clientFlags;
    private bool _structured;
    private string? _allocationContextExport;

    /// <summary>What the client entered transmission with, or null when it aborted the handshake.</summary>
    /// <exception cref="NbdProtocolException">The client broke the protocol; the connection must be closed.</exception>
    public async Task<NbdSession?> RunAsync(CancellationToken cancel)
    {
        await SendGreetingAsync(cancel);
        await ReadClientFlagsAsync(cancel);
        while (true)
        {
            var header = channel.Header.AsMemory(0, 16);
            await channel.ReadExactlyAsync(header, cancel);
            var magic = BinaryPrimitives.ReadUInt64BigEndian(header.Span);
            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.Span[8..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header.Span[12..]);
            if (magic != NbdMagic.OptionRequest)
            {
                throw new NbdProtocolException($"option request with bad magic 0x{magic:x16}");
            }

            if (!FixedNewstyle && option != NbdOption.ExportName)
            {
                // Without fixed newstyle no option can be answered, so the only possible answer is to hang up.
                throw new NbdProtocolException($"option {(uint)option} from a client that did not ask for fixed newstyle");
            }

            if (length > NbdLimits.MaximumOptionBytes)
            {
                await ReplyErrorAsync(option, NbdOptionReply.ErrorTooBig, $"option data of {length} bytes exceeds the limit of {NbdLimits.MaximumOptionBytes}", cancel);
                throw new NbdProtocolException($"option {(uint)option} with {length} bytes of data");
            }

            var data = channel.Payload((int)length).AsMemory(0, (int)length);
            await channel.ReadExactlyAsync(data, cancel);
            switch (option)
            {
                case NbdOption.ExportName:
                    return Session(await ExportNameAsync(data, cancel));
                case NbdOption.Abort:
                    await ReplyAsync(option, NbdOptionReply.Ack, ReadOnlyMemory<byte>.Empty, cancel);
                    return null;
                case NbdOption.List:
                    await ListAsync(length, cancel);
                    break;
                case NbdOption.Info or NbdOption.Go:
                    var export = await InfoAsync(option, data, cancel);
                    if (export is not null && option == NbdOption.Go)
                    {
                        return Session(export);
                    }

                    break;
                case NbdOption.StructuredReply:
                    await StructuredReplyAsync(length, cancel);
                    break;
                case NbdOption.SetMetaContext or NbdOption.ListMetaContext:
                    await MetaContextAsync(option, data, cancel);
                    break;
                default:
                    await ReplyErrorAsync(option, NbdOptionReply.ErrorUnsupported, $"option {(uint)option} is not supported", cancel);
                    break;
            }
        }
    }

    /// <summary>The session for <paramref name="export"/>: base:allocation counts only if it was set for this export's name.</summary>
    private NbdSession Session(INbdExport export) =>
        new(export, _structured, _structured && _allocationContextExport == export.Name);

    private bool FixedNewstyle => _clientFlags.HasFlag(NbdHandshakeFlags.FixedNewstyle);

    private async Task SendGreetingAsync(CancellationToken cancel)
    {
        var greeting = channel.Header.AsMemory(0, 18);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.Span, NbdMagic.InitPassword);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.Span[8..], NbdMagic.OptionRequest);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.Span[16..], (ushort)ServerFlags);
        await channel.WriteAsync(greeting, cancel);
    }

    private async Task ReadClientFlagsAsync(CancellationToken cancel)
    {
        var flags = channel.Header.AsMemory(0, 4);
        await channel.ReadExactlyAsync(flags, cancel);
        var value = BinaryPrimitives.ReadUInt32BigEndian(flags.Span);
        if ((value & ~(uint)ServerFlags) != 0)
        {
            // The specification: a server that does not know a client flag must not continue.
            throw new NbdProtocolException($"unknown client flags 0x{value:x8}");
        }

        _clientFlags = (NbdHandshakeFlags)value;
    }

    /// <summary>NBD_OPT_EXPORT_NAME cannot be answered with an error: an unknown name ends the connection.</summary>
    private async Task<INbdExport> ExportNameAsync(ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var name = DecodeName(data) ?? throw new NbdProtocolException("NBD_OPT_EXPORT_NAME with a name that is not valid UTF-8 up to 4096 bytes");
        var export = await exports.FindAsync(name, cancel) ?? throw new NbdProtocolException($"NBD_OPT_EXPORT_NAME for the unknown export '{name}'");
        var noZeroes = _clientFlags.HasFlag(NbdHandshakeFlags.NoZeroes);
        var reply = channel.Payload(134).AsMemory(0, noZeroes ? 10 : 134);
        reply.Span.Clear();
        BinaryPrimitives.WriteInt64BigEndian(reply.Span, export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(reply.Span[8..], (ushort)Advertised(export));
        await channel.WriteAsync(reply, cancel);
        return export;
    }

    private async Task ListAsync(uint length, CancellationToken cancel)
    {
        if (length != 0)
        {
            await ReplyErrorAsync(NbdOption.List, NbdOptionReply.ErrorInvalid, "NBD_OPT_LIST takes no data", cancel);
            return;
        }

        foreach (var name in await exports.ListAsync(cancel))
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            var entry = new byte[4 + bytes.Length];
            BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)bytes.Length);
            bytes.CopyTo(entry, 4);
            await ReplyAsync(NbdOption.List, NbdOptionReply.Server, entry, cancel);
        }

        await ReplyAsync(NbdOption.List, NbdOptionReply.Ack, ReadOnlyMemory<byte>.Empty, cancel);
    }

    /// <summary>
    /// NBD_OPT_INFO and NBD_OPT_GO: 32-bit name length, name, 16-bit count of information requests, the requests.
    /// The export, its block sizes (sent whether asked or not, as the specification allows) and, when asked, its name.
    /// </summary>
    private async Task<INbdExport?> InfoAsync(NbdOption option, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var span = data.Span;
        if (span.Length < 6)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, $"option data of {span.Length} bytes is too short for a name and a request count", cancel);
            return null;
        }

        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(span);
        if (nameLength > (uint)span.Length - 6)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, $"the name length {nameLength} runs past the option's {span.Length} bytes", cancel);
            return null;
        }

        var requestCount = BinaryPrimitives.ReadUInt16BigEndian(span[(4 + (int)nameLength)..]);
        if (6 + nameLength + (2 * requestCount) != span.Length)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, $"{requestCount} information requests do not fill the option's {span.Length} bytes", cancel);
            return null;
        }

        var wantsName = false;
        for (var i = 0; i < requestCount; i++)
        {
            wantsName |= BinaryPrimitives.ReadUInt16BigEndian(span[(6 + (int)nameLength + (2 * i))..]) == (ushort)NbdInfoType.Name;
        }

        var name = DecodeName(data.Slice(4, (int)nameLength));
        if (name is null)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorInvalid, "the export name is not valid UTF-8 up to 4096 bytes", cancel);
            return null;
        }

        var export = await exports.FindAsync(name, cancel);
        if (export is null)
        {
            await ReplyErrorAsync(option, NbdOptionReply.ErrorUnknown, $"unknown export '{name}'", cancel);
            return null;
        }

        await ReplyInfoAsync(option, ExportInfo(export), cancel);
        await ReplyInfoAsync(option, BlockSizeInfo(), cancel);
        if (wantsName)
        {
            var bytes = Encoding.UTF8.GetBytes(export.Name);
            var info = new byte[2 + bytes.Length];
            BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)NbdInfoType.Name);
            bytes.CopyTo(info, 2);
            await ReplyInfoAsync(option, info, cancel);
        }

        await ReplyAsync(option, NbdOptionReply.Ack, ReadOnlyMemory<byte>.Empty, cancel);
        return export;
    }

    private static byte[] ExportInfo(INbdExport export)
    {
        var info = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)NbdInfoType.Export);
        BinaryPrimitives.WriteInt64BigEndian(info.AsSpan(2), export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), (ushort)Advertised(export));
        return info;
    }

    private static NbdTransmissionFlags Advertised(INbdExport export) =>
        export.IsReadOnly ? NbdTransmissionFlags.ReadOnlyExport : NbdTransmissionFlags.Writable;

    private static byte[] BlockSizeInfo()
    {
        var info = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)NbdInfoType.BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(2), NbdLimits.MinimumBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(6), NbdLimits.PreferredBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(10), NbdLimits.MaximumPayload);
        return info;
    }

    /// <summary>A name as the specification defines strings: UTF-8, no NUL, at most 4096 bytes; null otherwise.</summary>
    private static string? DecodeName(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length > NbdLimits.MaximumStringBytes || bytes.Span.Contains((byte)0))
        {
            return null;
        }

        try
        {
            return StrictUtf8.GetString(bytes.Span);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private Task ReplyInfoAsync(NbdOption option, byte[] info, CancellationToken cancel) => ReplyAsync(option, NbdOptionReply.Info, info, cancel);

    private Task ReplyErrorAsync(NbdOption option, NbdOptionReply error, string message, CancellationToken cancel) =>
        ReplyAsync(option, error, Encoding.UTF8.GetBytes(message), cancel);

    private async Task ReplyAsync(NbdOption option, NbdOptionReply type, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var header = channel.Header.AsMemory(0, 20);
        BinaryPrimitives.WriteUInt64BigEndian(header.Span, NbdMagic.OptionReply);
        BinaryPrimitives.WriteUInt32BigEndian(header.Span[8..], (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(header.Span[12..], (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(header.Span[16..], (uint)data.Length);
        await channel.WriteAsync(header, cancel);
        if (data.Length > 0)
        {
            await channel.WriteAsync(data, cancel);
        }
    }
}
