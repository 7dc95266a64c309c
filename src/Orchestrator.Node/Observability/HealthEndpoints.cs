using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Liveness and readiness for a supervisor (systemd, Kubernetes, a load balancer). Neither needs the token: they say
/// nothing about disks. /healthz answers while the process serves HTTP; /readyz only while the engine answers too, and
/// the journal's database does.
/// </summary>
public static class HealthEndpoints
{
    public const string LivePath = "/healthz";
    public const string ReadyPath = "/readyz";

    /// <summary>
    /// The engine must have answered a job sample this recently for the node to be ready: samples are asked every
    /// second, and a loaded machine may take a few seconds to answer one, which is not yet a reason to take the node
    /// out of service.
    /// </summary>
    public static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet(LivePath, () => Results.Json(new HealthView("ok", null))).ExcludeFromDescription();
        app.MapGet(ReadyPath, (JobSampler sampler, Akka.Actor.ActorSystem system) =>
        {
            if (Engine.Persistence.JournalHealth.Of(system).Outage is { } outage)
            {
                return Results.Json(new HealthView("not-ready", outage.Describe(DateTimeOffset.UtcNow)), statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var last = sampler.LastAnswer;
            if (last is null)
            {
                return Results.Json(new HealthView("starting", "the engine has not answered yet (recovering its journal)"), statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var age = DateTimeOffset.UtcNow - last.Value;
            return age <= ReadyWithin
                ? Results.Json(new HealthView("ready", null))
                : Results.Json(new HealthView("not-ready", $"the engine last answered {age.TotalSeconds:0.#} s ago"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }).ExcludeFromDescription();
        return app;
    }

    /// <summary>The body of both endpoints.</summary>
    public sealed record HealthView(string Status, string? Reason);
}
