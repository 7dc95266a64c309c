using System.Net.Http.Headers;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>A decoded body and the response's headers.</summary>
public sealed record ApiResponse<T>(T Value, HttpResponseHeaders Headers);
