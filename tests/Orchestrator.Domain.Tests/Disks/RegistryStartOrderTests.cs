using Orchestrator.Domain.Disks;
using Xunit;

namespace Orchestrator.Domain.Tests.Disks;

/// <summary>A restarted host starts the disks that hold a job before the idle ones, whatever their ids.</summary>
public sealed class RegistryStartOrderTests
{
    [Fact]
    public void Disks_holding_a_job_come_first_then_the_rest_each_group_by_id()
    {
        var state = new[] { "d9", "d10", "a", "zz", "m" }.Aggregate(RegistryState.Empty, (s, disk) =>
            s.Apply(new RegistryEvents.DiskClaimed(disk, "n1", [new ImageClaim($"key-{disk}", $"/images/{disk}.qcow2", Writable: true)])));
        state = state
            .Apply(new RegistryEvents.JobClaimed("merge-1", "zz"))
            .Apply(new RegistryEvents.JobClaimed("merge-2", "m"))
            .Apply(new RegistryEvents.JobClaimed("copy-1", "zz"));

        var list = state.InStartOrder();
        Assert.Equal(["m", "zz", "a", "d10", "d9"], list.Disks.Select(d => d.Disk));
        Assert.Equal(2, list.HoldingJobs);
    }

    [Fact]
    public void A_released_job_no_longer_puts_its_disk_first()
    {
        var state = new[] { "a", "b" }.Aggregate(RegistryState.Empty, (s, disk) =>
            s.Apply(new RegistryEvents.DiskClaimed(disk, "n1", [new ImageClaim($"key-{disk}", $"/images/{disk}.qcow2", Writable: true)])));
        state = state.Apply(new RegistryEvents.JobClaimed("job", "b"));
        Assert.Equal(["b", "a"], state.InStartOrder().Disks.Select(d => d.Disk));
        Assert.Equal(1, state.InStartOrder().HoldingJobs);

        state = state.Apply(new RegistryEvents.JobReleased("job", "b"));
        Assert.Equal(["a", "b"], state.InStartOrder().Disks.Select(d => d.Disk));
        Assert.Equal(0, state.InStartOrder().HoldingJobs);
    }
}
