namespace Orchestrator.Engine.Pacing;

/// <summary>
/// What a disk's guest waits for at one moment, as a copy sees it before its next step.
/// </summary>
/// <param name="InFlight">Guest requests started and not yet completed.</param>
/// <param name="QueuedOnLock">Requests (the guest's, mostly) queued behind the holder of the disk's metadata lock.</param>
/// <param name="RecentLatency">Recent guest request latency, arrival to completion (an average of the last few).</param>
/// <param name="FloorLatency">The guest's own service time: the lowest latency it recently had, without waits.</param>
/// <param name="SinceLastRequest">Time since the last guest request ended (zero while one is in flight).</param>
internal readonly record struct GuestPressure(int InFlight, int QueuedOnLock, TimeSpan RecentLatency, TimeSpan FloorLatency, TimeSpan SinceLastRequest)
{
    /// <summary>A guest that has done nothing: the copy runs at full speed.</summary>
    public static GuestPressure Idle { get; } = new(0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.MaxValue);

    /// <summary>What the guest waits beyond its own service time: queueing behind the copy on the lock or the device.</summary>
    public TimeSpan Wait => RecentLatency > FloorLatency ? RecentLatency - FloorLatency : TimeSpan.Zero;
}
