using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>Turns exceptions into the API's JSON errors; unexpected ones are logged and answered with a 500 without internals.</summary>
public sealed partial class ApiExceptionMiddleware(RequestDelegate next, ILogger<ApiExceptionMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (typically an /events follower); nothing to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, code, message) = e switch
            {
                ApiException api => (api.Status, api.Code, api.Message),
                BadHttpRequestException bad => (bad.StatusCode, ErrorCodes.InvalidParameter, bad.Message),
                _ => (StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "internal error; see the node's log"),
            };
            if (status >= 500)
            {
                LogFailure(logger, e, context.Request.Method, context.Request.Path);
            }

            context.Response.Clear();
            await ApiResults.Error(status, code, message).ExecuteAsync(context);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogFailure(ILogger logger, Exception exception, string method, string path);
}
