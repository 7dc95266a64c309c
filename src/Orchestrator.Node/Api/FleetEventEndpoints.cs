using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Domain.Fleet;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Node.Api;

/// <summary>
/// GET /fleet/events: the QMP job events of every host of the fleet as Server-Sent Events, read from the journal
/// (<see cref="FleetEvents"/>): <c>id: n1:12,n2:40</c> (the <see cref="FleetCursor"/> after this event), <c>event: NAME</c>,
/// <c>data: QMP JSON</c> with the event's <c>host</c>. Last-Event-ID (or ?after=) resumes each host just after it; with
/// ?follow=false it stops after the events stored so far.
/// </summary>
public static class FleetEventEndpoints
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapFleetEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/fleet/events", StreamAsync)
            .WithTags("Events")
            .WithSummary("Every host's QMP job events as Server-Sent Events, from the journal; ids are per-host cursors (host:sequence,...) for Last-Event-ID; ?follow=false")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesErrors(StatusCodes.Status400BadRequest);
        return app;
    }

    private static async Task StreamAsync(HttpContext context, ActorSystem system, CancellationToken cancel)
    {
        var text = context.Request.Headers["Last-Event-ID"].ToString();
        text = text.Length > 0 ? text : context.Request.Query["after"].ToString();
        var cursor = FleetCursor.Parse(text, out var problem)
            ?? throw ApiException.InvalidParameter($"Last-Event-ID (or 'after') must be the id of a fleet event (HOST:SEQUENCE,...): {problem}");
        var follow = EventEndpoints.Follow(context.Request);

        var response = context.Response;
        await EventEndpoints.StartStreamAsync(response, cancel);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var events = FleetEvents.ReadAsync(system, cursor, follow, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                if (await Task.WhenAny(next, Task.Delay(KeepAlive, cancel)) != next)
                {
                    cancel.ThrowIfCancellationRequested();
                    await EventEndpoints.WriteAsync(response, ": keep-alive\n\n", cancel);
                    continue;
                }

                if (!await next)
                {
                    return;
                }

                var (host, e) = events.Current;
                cursor = cursor.With(host, e.Sequence);
                await EventEndpoints.WriteAsync(response, $"id: {cursor}\nevent: {e.Event}\ndata: {QmpEventJson.Serialize(e, host)}\n\n", cancel);
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
}
