using Orchestrator.Domain.Disks;

namespace Orchestrator.Node.Api.Contracts;

/// <summary>One entry of GET /disks.</summary>
public sealed record DiskSummaryView(string Id, string ActivePath, int ChainLength, int LiveJobs)
{
    public static DiskSummaryView From(ManagerCommands.DiskSummary s) => new(s.Disk, s.ActivePath, s.ChainLength, s.LiveJobs);
}
