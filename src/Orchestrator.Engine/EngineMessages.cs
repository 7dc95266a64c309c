using Orchestrator.Domain;

namespace Orchestrator.Engine;

/// <summary>Engine-internal messages between the manager and the disk actors (not part of the public protocol).</summary>
public static class EngineMessages
{
    /// <summary>In-process access to a disk's guest I/O path; answered with the <see cref="LiveDisk"/>.</summary>
    public sealed record GetLiveDisk(DiskId Disk) : Domain.Disks.IDiskCommand;

    public sealed record DiskRegistered(DiskId Disk);

    public sealed record DiskUnregistered(DiskId Disk);
}
