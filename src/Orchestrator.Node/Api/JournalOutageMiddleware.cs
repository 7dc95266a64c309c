using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Orchestrator.Contracts;
using Orchestrator.Engine.Persistence;

namespace Orchestrator.Node.Api;

/// <summary>
/// Refuses requests that would journal (every method but GET, HEAD and OPTIONS) with 503 while the journal's database
/// does not answer, at once, instead of letting them wait for it until the request times out. Reads pass; running jobs
/// and the guests go on, and writes are accepted again as soon as a journal write goes through.
/// </summary>
public sealed class JournalOutageMiddleware(RequestDelegate next, ActorSystem system)
{
    private readonly JournalHealth _health = JournalHealth.Of(system);

    public Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || _health.Outage is not { } outage)
        {
            return next(context);
        }

        return ApiResults.Error(StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable,
            $"{outage.Describe(DateTimeOffset.UtcNow)}; running jobs wait for it and go on when it returns, and so can this request then").ExecuteAsync(context);
    }
}
