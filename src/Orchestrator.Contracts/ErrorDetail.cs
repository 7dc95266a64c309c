namespace Orchestrator.Contracts;

/// <summary>A stable code (<see cref="ErrorCodes"/>) and a message for humans, QEMU's wording where it has one.</summary>
public sealed record ErrorDetail(string Code, string Message);
