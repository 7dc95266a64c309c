namespace Orchestrator.Contracts;

/// <summary>POST /jobs/{id}/set-speed: bytes per second, 0 = unlimited.</summary>
public sealed record SetSpeedRequest
{
    public long? Speed { get; init; }
}
