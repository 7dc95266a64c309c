using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>Endpoint metadata shared by the API's routes, for the OpenAPI document.</summary>
public static class OpenApiConventions
{
    /// <summary>Declares the JSON error body for each status, and for 401, which every route can answer.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Append(StatusCodes.Status401Unauthorized).Distinct())
        {
            builder.Produces<ErrorResponse>(status);
        }

        return builder;
    }
}
