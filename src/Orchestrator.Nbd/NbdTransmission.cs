using Microsoft.Extensions.Logging;
using Orchestrator.Nbd.Protocol;

namespace Orchestrator.Nbd;

/// <summary>
/// The transmission phase of one connection. A reader loop takes requests off the socket (a write's payload with
/// them) and hands each to its own task; requests run concurrently and reply as they finish, in any order, through
/// <see cref="NbdReplyWriter"/>. The reader stops taking requests while the connection has
/// <see cref="NbdServerOptions.MaxRequestsPerConnection"/> in flight or its buffers would exceed the connection's or the
/// server's byte budget, so a client is held back by TCP and never grows the server. A request whose framing is intact
/// but whose content is refused (out of range, too large, unknown flags or command) gets an error and the connection
/// goes on; a broken framing (bad magic, end of stream) ends it once the requests in flight have replied.
/// </summary>
internal sealed partial class NbdTransmission
{
    private const NbdCommandFlags WriteFlags = NbdCommandFlags.Fua;
    private const NbdCommandFlags WriteZeroesFlags = NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.FastZero;
    private const NbdCommandFlags TrimFlags = NbdCommandFlags.Fua;
    private const NbdCommandFlags BlockStatusFlags = NbdCommandFlags.ReqOne;

    /// <summary>Extents in one block-status reply at most; the client asks again for the rest of its range.</summary>
    private const int MaxExtentsPerReply = 1024;

    private readonly NbdChannel _channel;
    private readonly NbdSession _session;
    private readonly INbdExport _export;
    private readonly ILogger _logger;
    private readonly NbdBufferPool _pool;
    private readonly NbdReplyWriter _replies;
    private readonly ByteBudget _connectionBytes;
    private readonly SemaphoreSlim _slots;
    private readonly long _size;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _readerStop;

    // The reader counts as one, so the count reaches zero only after it has stopped and every request has replied.
    private int _pending = 1;

    public NbdTransmission(NbdChannel channel, NbdSession session, NbdServerOptions options, NbdBufferPool pool, ILogger logger)
    {
        _channel = channel;
        _session = session;
        _export = session.Export;
        _logger = logger;
        _pool = pool;
        _replies = new NbdReplyWriter(channel, session.Structured);
        _connectionBytes = new ByteBudget(options.MaxBytesPerConnection);
        _slots = new SemaphoreSlim(options.MaxRequestsPerConnection, options.MaxRequestsPerConnection);
        _size = _export.Size;
    }

    /// <summary>
    /// Serves requests until NBD_CMD_DISC, the end of the stream, or <paramref name="stop"/>, then waits for the requests
    /// in flight to reply. <paramref name="stop"/> is only looked at between requests: a request whose header has
    /// arrived is carried out and answered. <paramref name="abort"/> cuts replies short.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        using var readerStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _readerStop = readerStop;
        try
        {
            await ReadRequestsAsync(readerStop.Token, abort);
        }
        finally
        {
            Finished();
            await _drained.Task;
            _slots.Dispose();
        }
    }

    private async Task ReadRequestsAsync(CancellationToken stop, CancellationToken abort)
    {
        var header = new byte[NbdRequest.Size];
        while (true)
        {
            if (!await ReadHeaderAsync(header, stop))
            {
                return;
            }

            var request = NbdRequest.Parse(header);
            if (request.Command == NbdCommand.Disconnect)
            {
                return;
            }

            if (Refusal(request) is { } refusal)
            {
                if (request.Command == NbdCommand.Write)
                {
                    // The payload follows the header whatever the answer; reading it keeps the connection in step.
                    await _channel.DrainAsync(request.Length, abort);
                }

                LogRefused(_logger, _export.Name, request.Command.ToString(), refusal.Reason);
                await _replies.SendStatusAsync(request.Cookie, refusal.Error, refusal.Reason, abort);
                continue;
            }

            await _slots.WaitAsync(abort);
            NbdBuffer? buffer = null;
            var charged = 0;
            try
            {
                if (request.Command is NbdCommand.Read or NbdCommand.Write)
                {
                    var capacity = NbdBuffer.CapacityFor((int)request.Length);
                    await _connectionBytes.AcquireAsync(capacity, abort);
                    charged = capacity;
                    buffer = await _pool.RentAsync((int)request.Length, abort);
                    if (request.Command == NbdCommand.Write)
                    {
                        await _channel.ReadExactlyAsync(buffer.Slice(NbdBuffer.DataOffset, (int)request.Length), abort);
                    }
                }
            }
            catch
            {
                Release(buffer, charged);
                _slots.Release();
                throw;
            }

            Interlocked.Increment(ref _pending);
            _ = Task.Run(() => ServeAsync(request, buffer, charged, abort), CancellationToken.None);
        }
    }

    /// <summary>False when the client closed the connection cleanly between requests or the server stops serving it.</summary>
    private async Task<bool> ReadHeaderAsync(Memory<byte> header, CancellationToken stop)
    {
        try
        {
            await _channel.ReadExactlyAsync(header, stop);
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task ServeAsync(NbdRequest request, NbdBuffer? buffer, int charged, CancellationToken abort)
    {
        try
        {
            var (error, message) = request.Command switch
            {
                NbdCommand.Read => Run(request, () => _export.Read((long)request.Offset, buffer!.Data((int)request.Length))),
                NbdCommand.Write => Run(request, () =>
                {
                    _export.Write((long)request.Offset, buffer!.Data((int)request.Length));
                    FlushIfFua(request);
                }),
                NbdCommand.WriteZeroes => WriteZeroes(request),
                NbdCommand.Trim => Run(request, () =>
                {
                    _export.Trim((long)request.Offset, request.Length);
                    FlushIfFua(request);
                }),
                NbdCommand.Flush => Run(request, _export.Flush),
                _ => (NbdError.None, string.Empty),
            };

            if (error == NbdError.None && request.Command == NbdCommand.Read)
            {
                await _replies.SendReadAsync(request.Cookie, request.Offset, buffer!, (int)request.Length, abort);
            }
            else if (error == NbdError.None && request.Command == NbdCommand.BlockStatus)
            {
                await BlockStatusAsync(request, abort);
            }
            else
            {
                await _replies.SendStatusAsync(request.Cookie, error, message, abort);
            }

            if (error == NbdError.Shutdown)
            {
                // The export is going away: take no more requests; the ones in flight still reply.
                await _readerStop!.CancelAsync();
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // The reply could not be sent: the peer is gone or the connection is being cut. Stop reading too.
            LogReplyFailed(_logger, _export.Name, request.Command.ToString(), e.Message);
            await _readerStop!.CancelAsync();
        }
        finally
        {
            Release(buffer, charged);
            _slots.Release();
            Finished();
        }
    }

    private async Task BlockStatusAsync(NbdRequest request, CancellationToken abort)
    {
        var maxExtents = request.Flags.HasFlag(NbdCommandFlags.ReqOne) ? 1 : MaxExtentsPerReply;
        IReadOnlyList<NbdExtent> extents = [];
        var (error, message) = Run(request, () => extents = _export.BlockStatus((long)request.Offset, request.Length, maxExtents));
        if (error != NbdError.None || extents.Count == 0)
        {
            await _replies.SendStatusAsync(request.Cookie, error == NbdError.None ? NbdError.Io : error, message, abort);
            return;
        }

        await _replies.SendBlockStatusAsync(request.Cookie, extents, abort);
    }

    private (NbdError Error, string Message) WriteZeroes(NbdRequest request)
    {
        var fast = true;
        var result = Run(request, () =>
        {
            fast = _export.WriteZeroes((long)request.Offset, request.Length, request.Flags.HasFlag(NbdCommandFlags.FastZero));
            if (fast)
            {
                FlushIfFua(request);
            }
        });
        return result.Error == NbdError.None && !fast ? (NbdError.NotSupported, "zeroing this range would not be fast") : result;
    }

    private void Release(NbdBuffer? buffer, int charged)
    {
        if (buffer is not null)
        {
            _pool.Return(buffer);
        }

        if (charged > 0)
        {
            _connectionBytes.Release(charged);
        }
    }

    private void Finished()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// The error for flags the command does not take, a range outside the export, a payload above the maximum, a
    /// write to a read-only export, or a command not offered; null when the request may run.
    /// </summary>
    private (NbdError Error, string Reason)? Refusal(NbdRequest request)
    {
        var (allowed, limitLength, writes) = request.Command switch
        {
            NbdCommand.Read => (NbdCommandFlags.None, true, false),
            NbdCommand.Write => (WriteFlags, true, true),
            NbdCommand.WriteZeroes => (WriteZeroesFlags, false, true),
            NbdCommand.Trim => (TrimFlags, false, true),
            NbdCommand.Flush => (NbdCommandFlags.None, false, false),
            NbdCommand.BlockStatus when _session.AllocationContext => (BlockStatusFlags, false, false),
            _ => ((NbdCommandFlags?)null, false, false),
        };

        if (allowed is null)
        {
            // CACHE, BLOCK_STATUS without a context, and anything newer were not offered; none carries a payload.
            return (NbdError.InvalidArgument, $"command {(ushort)request.Command} is not supported");
        }

        if ((request.Flags & ~allowed.Value) != 0)
        {
            return (NbdError.InvalidArgument, $"flags 0x{(ushort)request.Flags:x4}");
        }

        if (writes && _export.IsReadOnly)
        {
            return (NbdError.NotPermitted, $"export '{_export.Name}' is read-only");
        }

        if (limitLength && request.Length > NbdLimits.MaximumPayload)
        {
            return (NbdError.InvalidArgument, $"length {request.Length} above the maximum {NbdLimits.MaximumPayload}");
        }

        if (request.Command != NbdCommand.Flush && !request.FitsIn(_size))
        {
            return (NbdError.InvalidArgument, $"range {request.Offset}+{request.Length} outside the export's {_size} bytes");
        }

        if (request.Command == NbdCommand.BlockStatus && request.Length == 0)
        {
            return (NbdError.InvalidArgument, "block status of an empty range");
        }

        return null;
    }

    private void FlushIfFua(NbdRequest request)
    {
        if (request.Flags.HasFlag(NbdCommandFlags.Fua))
        {
            _export.Flush();
        }
    }

    /// <summary>Carries out the request; a failure becomes the error value of the reply (EIO unless the export chose one).</summary>
    private (NbdError Error, string Message) Run(NbdRequest request, Action action)
    {
        try
        {
            action();
            return (NbdError.None, string.Empty);
        }
        catch (NbdExportException e)
        {
            LogFailed(_logger, _export.Name, request.Command.ToString(), request.Offset, request.Length, e.Error.ToString(), e.Message);
            return (e.Error, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(_logger, _export.Name, request.Command.ToString(), request.Offset, request.Length, NbdError.Io.ToString(), e.Message);
            return (NbdError.Io, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "nbd export {Export}: {Command} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string export, string command, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nbd export {Export}: {Command} at {Offset}+{Length} failed with {Error}: {Message}")]
    private static partial void LogFailed(ILogger logger, string export, string command, ulong offset, uint length, string error, string message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "nbd export {Export}: the reply to {Command} could not be sent: {Message}")]
    private static partial void LogReplyFailed(ILogger logger, string export, string command, string message);
}
