using System.Globalization;
using System.Text.Json;
using Orchestrator.ImageCommands.Output;
using Orchestrator.Contracts;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// --wait: follows the node's events for one job (from the sequence the start response carried, so nothing of an
/// earlier job with the same id counts) while polling the job for the progress bar. Success is BLOCK_JOB_COMPLETED
/// without an error, and only then does the bar show 100 %.
/// </summary>
public sealed class JobWaiter(NodeClient client, JobView job, long afterSequence, string label)
{
    private const int MaxReconnects = 5;
    private static readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(250);
    private long _lastCopied;

    /// <summary>The final event's data (BLOCK_JOB_COMPLETED without error); throws <see cref="ClientException"/> when the job fails or is cancelled.</summary>
    public async Task<JsonElement> WaitAsync(bool showBar, CancellationToken cancel)
    {
        var bar = showBar ? new ProgressBar(label) : null;
        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var polling = bar is null ? Task.CompletedTask : PollAsync(bar, stopPolling.Token);
        var succeeded = false;
        try
        {
            var (completed, failure) = await FollowEventsAsync(cancel);
            await stopPolling.CancelAsync();
            if (failure is not null)
            {
                throw new ClientException(failure);
            }

            await polling.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (bar is not null)
            {
                bar.Complete(await FinalBytesCopiedAsync(cancel));
            }

            succeeded = true;
            return completed;
        }
        finally
        {
            await stopPolling.CancelAsync();
            await polling.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!succeeded && bar is not null && !Console.IsErrorRedirected)
            {
                // End the bar's line so that the error starts on its own.
                Console.Error.WriteLine();
            }
        }
    }

    /// <summary>The job's end: the completion event's data, or why it did not complete.</summary>
    private async Task<(JsonElement Completed, string? Failure)> FollowEventsAsync(CancellationToken cancel)
    {
        var after = afterSequence;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await foreach (var message in client.EventsAsync(after, follow: true, cancel))
                {
                    if (long.TryParse(message.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                    {
                        after = sequence;
                    }

                    attempt = 0;
                    if (Handle(message) is { } final)
                    {
                        return final;
                    }
                }
            }
            catch (ClientException) when (attempt < MaxReconnects && !cancel.IsCancellationRequested)
            {
                // The node restarted or the connection dropped: follow again from the last event seen.
            }
            catch (IOException) when (attempt < MaxReconnects && !cancel.IsCancellationRequested)
            {
            }

            if (attempt >= MaxReconnects)
            {
                throw new ClientException($"lost the event stream of the node at {client.Server} while waiting for job '{job.Device}'; "
                    + "the job goes on: see `orchestrator jobs`");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500 * (attempt + 1)), cancel);
        }
    }

    /// <summary>The job's end (completion data, or the failure as a message), or null to keep waiting.</summary>
    private (JsonElement Completed, string? Failure)? Handle(SseMessage message)
    {
        JsonElement data;
        try
        {
            data = JsonDocument.Parse(message.Data).RootElement.GetProperty("data");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }

        var device = data.TryGetProperty("device", out var d) ? d.GetString() : data.TryGetProperty("id", out var i) ? i.GetString() : null;
        if (device != job.Device)
        {
            return null;
        }

        switch (message.Event)
        {
            case "BLOCK_JOB_COMPLETED" when data.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String:
                return (data.Clone(), $"job '{job.Device}' failed: {error.GetString()}");
            case "BLOCK_JOB_COMPLETED":
                return (data.Clone(), null);
            case "BLOCK_JOB_CANCELLED":
                return (data.Clone(), $"job '{job.Device}' was cancelled at offset {Number(data, "offset")} of {Number(data, "len")} bytes");
            case "BLOCK_JOB_ERROR":
                var action = data.TryGetProperty("action", out var a) ? a.GetString() : null;
                var operation = data.TryGetProperty("operation", out var o) ? o.GetString() : "I/O";
                Console.Error.WriteLine(action == "stop"
                    ? $"\njob '{job.Device}': {operation} error; the job is paused until `orchestrator job resume {job.Device}`"
                    : $"\njob '{job.Device}': {operation} error (action: {action})");
                return null;
            default:
                return null;
        }
    }

    /// <summary>The concluded job's own count when it is still there (no auto-dismiss), else the last one polled.</summary>
    private async Task<long> FinalBytesCopiedAsync(CancellationToken cancel)
    {
        try
        {
            var final = await client.GetAsync<JobView>($"jobs/{NodeClient.Segment(job.Device)}", cancel);
            return Math.Max(_lastCopied, final.BytesCopied);
        }
        catch (ClientException)
        {
            return _lastCopied;
        }
    }

    private async Task PollAsync(ProgressBar bar, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                var current = await client.GetAsync<JobView>($"jobs/{NodeClient.Segment(job.Device)}", cancel);
                bar.SpeedLimit = current.Speed;
                bar.State = current.Status == "running" && !current.Paused ? null : HumanFormat.State(current);
                // The bar counts the data written (bytes-copied), which a speed limit bounds; the offset, which
                // also counts the ranges the top already held, only gives the percent.
                _lastCopied = Math.Max(_lastCopied, current.BytesCopied);
                bar.Report(new StreamProgress(current.Offset, current.Len, current.BytesCopied));
            }
            catch (ClientException)
            {
                // Gone (auto-dismissed) or unreachable for a moment: the event stream decides how the wait ends.
            }

            await Task.Delay(_pollInterval, cancel);
        }
    }

    private static long Number(JsonElement data, string field) => data.TryGetProperty(field, out var v) && v.TryGetInt64(out var n) ? n : 0;
}
