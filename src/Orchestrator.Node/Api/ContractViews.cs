using Orchestrator.Contracts;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Node.Exports;

namespace Orchestrator.Node.Api;

/// <summary>
/// The API's views built from the engine's replies. They live here, not in Orchestrator.Contracts, so that the contracts
/// reference neither the domain (Akka) nor the node; as static extension members the call sites still read
/// <c>DiskView.FromAsync(info, nbd)</c>.
/// </summary>
public static class ContractViews
{
    extension(DiskSummaryView)
    {
        public static DiskSummaryView From(ManagerCommands.DiskSummary s) => new(s.Disk, s.ActivePath, s.ChainLength, s.LiveJobs, s.State, s.Quarantine, s.Host);
    }

    extension(ImageView)
    {
        public static ImageView From(DiskReplies.ImageSummary s) => new(s.Path, s.VirtualSize, s.ClusterSize, s.AllocatedBytes, s.BackingFile);
    }

    extension(DiskView)
    {
        /// <summary>The disk as its host describes it, with its NBD URIs on that host.</summary>
        public static async Task<DiskView> FromAsync(DiskReplies.DiskInfo info, HostNbd nbd) => new(
            info.Disk.Value, info.ActivePath, info.Chain, [.. info.Images.Select(ImageView.From)], [.. info.Jobs.Select(JobView.From)],
            await nbd.ViewAsync(info.Disk.Value, info.Host), info.State, info.Quarantine, info.Host);
    }

    extension(JobView)
    {
        public static JobView From(JobInfo j) => new()
        {
            Type = j.Type,
            Device = j.Device,
            Disk = j.Disk,
            Len = j.Len,
            Offset = j.Offset,
            Busy = j.Busy,
            Paused = j.Paused,
            Speed = j.Speed,
            IoStatus = j.IoStatus,
            Ready = j.Ready,
            Status = j.Status,
            AutoFinalize = j.AutoFinalize,
            AutoDismiss = j.AutoDismiss,
            Error = j.Error,
            BytesCopied = j.BytesCopied,
            Host = j.Host,
        };
    }

    extension(FinishedJobView)
    {
        public static FinishedJobView From(string host, FinishedJob j) =>
            new(j.Id, j.Type, j.Outcome, j.Started, j.Ended, j.Len, j.Offset, j.Speed, j.Error, j.Sequence) { Host = host };
    }
}
