using Orchestrator.Engine;

namespace Orchestrator.Node.Api;

/// <summary>The last sequence the hub has published, exactly (events are retained in order, the newest last).</summary>
public static class EventHubSequence
{
    // The hub has no cheaper accessor yet; a copy of the retained list per job start (or per non-following
    // /events request) is small next to what the request does.
    public static long LastSequence(this EventHub hub) => hub.Retained() is { Count: > 0 } events ? events[^1].Sequence : 0;
}
