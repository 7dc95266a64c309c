using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>
/// GET /events: QMP's job events as Server-Sent Events (<c>id: SEQUENCE</c>, <c>event: NAME</c>, <c>data: QMP JSON</c>).
/// Replays the retained events after Last-Event-ID (header, or ?after=N), then follows live ones; with ?follow=false
/// it stops after the events published so far.
/// </summary>
public static class EventEndpoints
{
    private static readonly TimeSpan _keepAlive = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan _replayIdle = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/events", StreamAsync)
            .WithTags("Events")
            .WithSummary("QMP job events as Server-Sent Events; supports Last-Event-ID and ?follow=false")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesErrors(StatusCodes.Status400BadRequest);
        return app;
    }

    private static async Task StreamAsync(HttpContext context, EventHub hub, CancellationToken cancel)
    {
        var after = AfterSequence(context.Request);
        var follow = Follow(context.Request);
        await hub.WhenReady(cancel); // the event log recovers at start: until then the retained events are incomplete
        var stopAt = follow ? long.MaxValue : hub.LastSequence;

        var response = context.Response;
        await StartStreamAsync(response, cancel);
        if (stopAt <= after)
        {
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var events = hub.Subscribe(after, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                var idle = follow ? _keepAlive : _replayIdle;
                if (await Task.WhenAny(next, Task.Delay(idle, cancel)) != next)
                {
                    cancel.ThrowIfCancellationRequested();
                    if (!follow)
                    {
                        // The events up to stopAt are no longer retained; nothing more to replay.
                        break;
                    }

                    await WriteAsync(response, ": keep-alive\n\n", cancel);
                    continue;
                }

                if (!await next)
                {
                    break;
                }

                var e = events.Current;
                await WriteAsync(response, Frame(e), cancel);
                if (e.Sequence >= stopAt)
                {
                    break;
                }

                next = events.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // An async iterator cannot be disposed while a MoveNextAsync is pending: cancel it and let it finish first.
            await stop.CancelAsync();
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await events.DisposeAsync();
        }
    }

    private static string Frame(BlockJobEvent e) =>
        string.Create(CultureInfo.InvariantCulture, $"id: {e.Sequence}\nevent: {e.Event}\ndata: {QmpEventJson.Serialize(e)}\n\n");

    /// <summary>Sends a Server-Sent Events response's headers at once (no cache, no proxy buffering).</summary>
    internal static async Task StartStreamAsync(HttpResponse response, CancellationToken cancel)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(cancel);
    }

    internal static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancel)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancel);
        await response.Body.FlushAsync(cancel);
    }

    /// <summary>?follow: absent or true/1/yes follows; false/0/no stops after the retained events; anything else is a 400, not a stream that never ends.</summary>
    internal static bool Follow(HttpRequest request)
    {
        var text = request.Query["follow"].ToString();
        return text switch
        {
            "" or "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw ApiException.InvalidParameter($"Parameter 'follow' must be true or false, not '{Domain.IdRule.Printable(text)}'"),
        };
    }

    private static long AfterSequence(HttpRequest request)
    {
        var text = request.Headers["Last-Event-ID"].ToString();
        if (text.Length == 0)
        {
            text = request.Query["after"].ToString();
        }

        if (text.Length == 0)
        {
            return 0;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiException.InvalidParameter($"Last-Event-ID (or 'after') must be an event sequence number, not '{text}'");
    }
}
