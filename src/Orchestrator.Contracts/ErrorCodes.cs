namespace Orchestrator.Contracts;

/// <summary>The API's error codes: the domain's (<see cref="Orchestrator.Domain.DomainError"/>) plus the HTTP layer's own.</summary>
public static class ErrorCodes
{
    public const string InvalidParameter = "invalid-parameter";
    public const string NotFound = "not-found";
    public const string Busy = "busy";
    public const string Conflict = "conflict";
    public const string WrongState = "wrong-state";
    public const string Unauthorized = "unauthorized";
    public const string OutsideStorageRoot = "outside-storage-root";
    public const string Timeout = "timeout";

    /// <summary>The data folder (the journal) has too little free space for a write: 507, reads still answer.</summary>
    public const string InsufficientStorage = "insufficient-storage";
    public const string Unavailable = "unavailable";
    public const string Internal = "internal";
}
