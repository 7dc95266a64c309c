using Microsoft.AspNetCore.Http;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>A request the API refuses before (or instead of) asking the engine; rendered as the JSON error body.</summary>
public sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static ApiException InvalidParameter(string message) => new(StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, message);

    public static ApiException MissingField(string field) => InvalidParameter($"missing field '{field}'");
}
