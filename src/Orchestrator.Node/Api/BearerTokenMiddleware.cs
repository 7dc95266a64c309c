using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>
/// Every request must carry <c>Authorization: Bearer &lt;token&gt;</c>; anything else is a 401 JSON error. The
/// <paramref name="publicPaths"/> (health probes, the dashboard's static page, optionally /metrics) are exempt: they
/// reveal nothing about disks, and the dashboard asks for the token itself.
/// </summary>
public sealed class BearerTokenMiddleware(RequestDelegate next, string token, IReadOnlySet<string> publicPaths)
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes(token);

    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsGet(context.Request.Method) && publicPaths.Contains(context.Request.Path.Value ?? ""))
        {
            return next(context);
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), _expected))
        {
            return next(context);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"orchestrator\"";
        var message = header.Length == 0
            ? "missing 'Authorization: Bearer <token>' header; the token is in the node's data folder (file 'token')"
            : "invalid bearer token";
        return ApiResults.Error(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, message).ExecuteAsync(context);
    }
}
