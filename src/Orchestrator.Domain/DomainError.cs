namespace Orchestrator.Domain;

/// <summary>A refused command: a stable code for scripts and the API, and QEMU's wording where QEMU has one.</summary>
public sealed record DomainError(string Code, string Message)
{
    public static DomainError NotFound(string message) => new("not-found", message);
    public static DomainError InvalidParameter(string message) => new("invalid-parameter", message);
    public static DomainError WrongState(string message) => new("wrong-state", message);
    public static DomainError Busy(string message) => new("busy", message);
    public static DomainError Conflict(string message) => new("conflict", message);
}
