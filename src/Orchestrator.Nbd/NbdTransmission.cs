using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>
/// The transmission phase of one connection: requests are read and answered one at a time with simple replies.
/// A request whose framing is intact but whose content is refused (out of range, too large, unknown flags or
/// command) gets EINVAL and the connection goes on; a broken framing (bad magic, end of stream) ends it.
/// </summary>
internal sealed partial class NbdTransmission(NbdChannel channel, INbdExport export, ILogger logger)
{
    private const int ReplyHeaderSize = 16;
    private const NbdCommandFlags WriteFlags = NbdCommandFlags.Fua;
    private const NbdCommandFlags WriteZeroesFlags = NbdCommandFlags.Fua | NbdCommandFlags.NoHole;
    private readonly long _size = export.Size;

    /// <summary>
    /// Serves requests until NBD_CMD_DISC, the end of the stream, or <paramref name="stop"/>. <paramref name="stop"/> is
    /// only looked at between requests: a request whose header has arrived is carried out and answered first.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        while (true)
        {
            var header = channel.Header.AsMemory(0, NbdRequest.Size);
            if (!await ReadHeaderAsync(header, stop))
            {
                return;
            }

            var request = NbdRequest.Parse(header.Span);
            if (request.Command == NbdCommand.Disconnect)
            {
                return;
            }

            var error = await ServeAsync(request, abort);
            if (error == NbdError.Shutdown)
            {
                return;
            }
        }
    }

    /// <summary>False when the client closed the connection cleanly between requests or the server stops serving it.</summary>
    private async Task<bool> ReadHeaderAsync(Memory<byte> header, CancellationToken stop)
    {
        try
        {
            await channel.ReadExactlyAsync(header, stop);
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<NbdError> ServeAsync(NbdRequest request, CancellationToken abort)
    {
        switch (request.Command)
        {
            case NbdCommand.Read:
                return await ReadAsync(request, abort);
            case NbdCommand.Write:
                return await WriteAsync(request, abort);
            case NbdCommand.WriteZeroes:
                var zeroes = Refusal(request, WriteZeroesFlags, limitLength: false)
                    ?? Run(request, () =>
                    {
                        export.WriteZeroes((long)request.Offset, request.Length);
                        FlushIfFua(request);
                    });
                return await ReplyAsync(request, zeroes, abort);
            case NbdCommand.Flush:
                var flush = request.Flags != NbdCommandFlags.None ? NbdError.InvalidArgument : Run(request, export.Flush);
                return await ReplyAsync(request, flush, abort);
            default:
                // TRIM, CACHE, BLOCK_STATUS and anything newer were not advertised; none carries a payload, so the
                // framing holds and the client learns of the refusal.
                LogRefused(logger, export.Name, request.Command.ToString(), "not supported");
                return await ReplyAsync(request, NbdError.InvalidArgument, abort);
        }
    }

    private async Task<NbdError> ReadAsync(NbdRequest request, CancellationToken abort)
    {
        var refusal = Refusal(request, NbdCommandFlags.None, limitLength: true);
        if (refusal is { } invalid)
        {
            return await ReplyAsync(request, invalid, abort);
        }

        // The reply header and the data go out in one write, from one pooled buffer.
        var length = (int)request.Length;
        var buffer = channel.Payload(ReplyHeaderSize + length);
        var error = Run(request, () => export.Read((long)request.Offset, buffer.AsSpan(ReplyHeaderSize, length)));
        WriteReplyHeader(buffer, request.Cookie, error);
        await channel.WriteAsync(buffer.AsMemory(0, error == NbdError.None ? ReplyHeaderSize + length : ReplyHeaderSize), abort);
        return error;
    }

    private async Task<NbdError> WriteAsync(NbdRequest request, CancellationToken abort)
    {
        var refusal = Refusal(request, WriteFlags, limitLength: true);
        if (refusal is { } invalid)
        {
            // The payload follows the header whatever the answer; reading it keeps the connection in step.
            await channel.DrainAsync(request.Length, abort);
            return await ReplyAsync(request, invalid, abort);
        }

        var length = (int)request.Length;
        var buffer = channel.Payload(length);
        await channel.ReadExactlyAsync(buffer.AsMemory(0, length), abort);
        var error = Run(request, () =>
        {
            export.Write((long)request.Offset, buffer.AsSpan(0, length));
            FlushIfFua(request);
        });
        return await ReplyAsync(request, error, abort);
    }

    /// <summary>EINVAL for flags the command does not take, a range outside the export, or a payload above the maximum.</summary>
    private NbdError? Refusal(NbdRequest request, NbdCommandFlags allowedFlags, bool limitLength)
    {
        string? reason = null;
        if ((request.Flags & ~allowedFlags) != 0)
        {
            reason = $"flags 0x{(ushort)request.Flags:x4}";
        }
        else if (limitLength && request.Length > NbdLimits.MaximumPayload)
        {
            reason = $"length {request.Length} above the maximum {NbdLimits.MaximumPayload}";
        }
        else if (!request.FitsIn(_size))
        {
            reason = $"range {request.Offset}+{request.Length} outside the export's {_size} bytes";
        }

        if (reason is null)
        {
            return null;
        }

        LogRefused(logger, export.Name, request.Command.ToString(), reason);
        return NbdError.InvalidArgument;
    }

    private void FlushIfFua(NbdRequest request)
    {
        if (request.Flags.HasFlag(NbdCommandFlags.Fua))
        {
            export.Flush();
        }
    }

    /// <summary>Carries out the request; a failure becomes the error value of the reply (EIO unless the export chose one).</summary>
    private NbdError Run(NbdRequest request, Action action)
    {
        try
        {
            action();
            return NbdError.None;
        }
        catch (NbdExportException e)
        {
            LogFailed(logger, export.Name, request.Command.ToString(), request.Offset, request.Length, e.Error.ToString(), e.Message);
            return e.Error;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(logger, export.Name, request.Command.ToString(), request.Offset, request.Length, NbdError.Io.ToString(), e.Message);
            return NbdError.Io;
        }
    }

    private async Task<NbdError> ReplyAsync(NbdRequest request, NbdError error, CancellationToken abort)
    {
        WriteReplyHeader(channel.Header, request.Cookie, error);
        await channel.WriteAsync(channel.Header.AsMemory(0, ReplyHeaderSize), abort);
        return error;
    }

    private static void WriteReplyHeader(Span<byte> buffer, ulong cookie, NbdError error)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdMagic.SimpleReply);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "nbd export {Export}: {Command} refused with EINVAL: {Reason}")]
    private static partial void LogRefused(ILogger logger, string export, string command, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd export {Export}: {Command} at {Offset}+{Length} failed with {Error}: {Message}")]
    private static partial void LogFailed(ILogger logger, string export, string command, ulong offset, uint length, string error, string message);
}
