namespace Orchestrator.Contracts;

/// <summary>Every error: <c>{ "error": { "code": "...", "message": "..." } }</c>.</summary>
public sealed record ErrorResponse(ErrorDetail Error);
