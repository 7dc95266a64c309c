namespace Orchestrator.Contracts;

/// <summary>Headers of the API beyond HTTP's own.</summary>
public static class ApiHeaders
{
    /// <summary>
    /// On a response that starts a job: the last event sequence the node had published when it sent the command to the engine.
    /// Every event of the new job comes after it, so a client that follows GET /events with this as Last-Event-ID
    /// sees the whole job and nothing of an earlier job with the same id.
    /// </summary>
    public const string EventSequence = "Orchestrator-Event-Sequence";
}
