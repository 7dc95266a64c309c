using Microsoft.AspNetCore.Http;
using Orchestrator.Contracts;
using Orchestrator.Node.Hosting;

namespace Orchestrator.Node.Api;

/// <summary>
/// Refuses requests that would journal (every method but GET, HEAD and OPTIONS) with 507 while the data folder is full,
/// before they reach an actor; reads pass, and writes are accepted again as soon as space returns.
/// </summary>
public sealed class FreeSpaceMiddleware(RequestDelegate next, DataFolderSpace space)
{
    public Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            return next(context);
        }

        return space.ShortageMessage() is { } message
            ? ApiResults.Error(StatusCodes.Status507InsufficientStorage, ErrorCodes.InsufficientStorage, message).ExecuteAsync(context)
            : next(context);
    }
}
