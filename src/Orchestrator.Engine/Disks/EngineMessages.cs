using Orchestrator.Domain;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine;

/// <summary>Engine-internal messages to a disk entity (not part of the public protocol); routed by disk id like any other.</summary>
public static class EngineMessages
{
    /// <summary>
    /// A disk's <see cref="DiskReplies.DiskInfo"/> as it is now, answered at once in every state (a <c>disk list</c>
    /// entry); <see cref="DiskCommands.Show"/> instead waits for an allocation scan in progress to end.
    /// </summary>
    [WireName("engine.summarize.v1")]
    public sealed record Summarize(DiskId Disk) : IDiskCommand;

    /// <summary>
    /// The disk shard's hand-off stop message (coordinated shutdown, or the shard moving): the entity holds its running
    /// jobs at a checkpoint of where they are, then stops. Sent by the local shard only, never over the wire.
    /// </summary>
    public sealed record HandOff
    {
        public static readonly HandOff Instance = new();
    }
}
