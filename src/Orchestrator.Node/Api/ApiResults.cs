using Microsoft.AspNetCore.Http;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Contracts;
using Orchestrator.Engine.Observability;

namespace Orchestrator.Node.Api;

/// <summary>The API's error bodies and the HTTP status of each domain error code.</summary>
public static class ApiResults
{
    /// <summary>Every error the API answers passes here, so each is counted by its code (errors_total{kind="api-CODE"}).</summary>
    public static IResult Error(int status, string code, string message)
    {
        EngineMetrics.Error($"api-{code}");
        return Results.Json(new ErrorResponse(new ErrorDetail(code, message)), statusCode: status);
    }

    public static IResult From(DomainError error) => Error(StatusOf(error.Code), error.Code, error.Message);

    /// <summary>A refusal becomes its error; any other reply the endpoint did not expect is a bug (500) worth seeing.</summary>
    public static IResult Unexpected(object reply) => reply switch
    {
        DiskReplies.Refused refused => From(refused.Error),
        _ => Error(StatusCodes.Status500InternalServerError, ErrorCodes.Internal, $"unexpected answer from the engine: {reply.GetType().Name}"),
    };

    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.InvalidParameter => StatusCodes.Status400BadRequest,
        ErrorCodes.Busy or ErrorCodes.Conflict or ErrorCodes.WrongState => StatusCodes.Status409Conflict,
        ErrorCodes.OutsideStorageRoot => StatusCodes.Status403Forbidden,
        ErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorCodes.Timeout => StatusCodes.Status504GatewayTimeout,
        ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCodes.InsufficientStorage => StatusCodes.Status507InsufficientStorage,
        ErrorCodes.Internal => StatusCodes.Status500InternalServerError,

        // A refusal with a code the API does not know yet is still the caller's command being refused.
        _ => StatusCodes.Status400BadRequest,
    };
}
