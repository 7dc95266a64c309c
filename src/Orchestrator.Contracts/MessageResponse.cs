namespace Orchestrator.Contracts;

/// <summary>An accepted command with nothing else to return.</summary>
public sealed record MessageResponse(string Message);
