using Orchestrator.Domain;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine;

/// <summary>Engine-internal messages between the manager and the disk actors (not part of the public protocol).</summary>
public static class EngineMessages
{
    /// <summary>In-process access to a disk's guest I/O path; answered with the <see cref="LiveDisk"/>.</summary>
    [WireName("engine.get-live-disk.v1")]
    public sealed record GetLiveDisk(DiskId Disk) : Domain.Disks.IDiskCommand;

    public sealed record DiskUnregistered(DiskId Disk);

    /// <summary>A disk actor tells the manager its chain (active image first; empty once unregistered).</summary>
    public sealed record ChainUpdated(DiskId Disk, IReadOnlyList<string> Chain);

    /// <summary>A registration forwarded with the other disks' chains, so one image never gets two writers.</summary>
    [WireName("engine.register-among.v1")]
    public sealed record RegisterAmong(DiskCommands.Register Register, IReadOnlyDictionary<string, IReadOnlyList<string>> OtherChains) : IDiskCommand
    {
        public DiskId Disk => Register.Disk;
    }
}
