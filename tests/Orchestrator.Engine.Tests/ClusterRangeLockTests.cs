using Xunit;
using Orchestrator.Engine.GuestIo;

namespace Orchestrator.Engine.Tests;

/// <summary>The guest path's cluster range lock, without a disk: who waits for whom.</summary>
public sealed class ClusterRangeLockTests
{
    private const int Cluster = 65536;
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void Reads_of_the_same_cluster_and_writes_of_different_clusters_run_at_once()
    {
        var ranges = new ClusterRangeLock();
        using (ranges.Enter(0, 4096, Cluster, exclusive: false))
        using (ranges.Enter(100, 10, Cluster, exclusive: false))
        using (ranges.Enter(Cluster, 4096, Cluster, exclusive: true))
        using (ranges.Enter(5 * Cluster, 3 * Cluster, Cluster, exclusive: true))
        {
            // Got here without waiting.
        }
    }

    [Fact]
    public async Task A_write_waits_for_a_read_of_the_same_cluster_even_on_other_bytes_and_runs_when_it_ends()
    {
        var ranges = new ClusterRangeLock();
        var read = ranges.Enter(0, 512, Cluster, exclusive: false);
        var write = Task.Run(() => ranges.Enter(Cluster - 512, 512, Cluster, exclusive: true).Dispose());
        Assert.False(await CompletesAsync(write, Short));
        read.Dispose();
        Assert.True(await CompletesAsync(write, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_read_arriving_after_a_waiting_write_waits_behind_it_so_reads_cannot_starve_writes()
    {
        var ranges = new ClusterRangeLock();
        var first = ranges.Enter(0, 4096, Cluster, exclusive: false);
        var order = new List<string>();
        var write = Task.Run(() =>
        {
            using (ranges.Enter(0, 4096, Cluster, exclusive: true))
            {
                lock (order)
                {
                    order.Add("write");
                }
            }
        });
        Assert.False(await CompletesAsync(write, Short));
        var read = Task.Run(() =>
        {
            using (ranges.Enter(0, 4096, Cluster, exclusive: false))
            {
                lock (order)
                {
                    order.Add("read");
                }
            }
        });
        Assert.False(await CompletesAsync(read, Short));
        first.Dispose();
        Assert.True(await CompletesAsync(Task.WhenAll(write, read), TimeSpan.FromSeconds(10)));
        Assert.Equal(["write", "read"], order);
    }

    private static async Task<bool> CompletesAsync(Task task, TimeSpan limit) => await Task.WhenAny(task, Task.Delay(limit)) == task;
}
