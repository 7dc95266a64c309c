using Orchestrator.Engine.Pacing;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests.Pacing;

/// <summary>
/// What the copy reads of the guest: its recent latency against its own service time, and requests queued on the
/// metadata lock, measured on a real image through <see cref="LiveDisk"/>.
/// </summary>
public sealed class GuestPressureTests
{
    private const int Cluster = 65536;

    [Fact]
    public void Latency_above_the_guests_own_service_time_shows_as_wait_and_fades_when_it_stops()
    {
        var activity = new GuestActivity();
        for (var i = 0; i < 50; i++)
        {
            activity.Record(TimeSpan.FromMicroseconds(100));
        }

        Assert.InRange(activity.Pressure(0).Wait, TimeSpan.Zero, TimeSpan.FromMicroseconds(5));

        // Eight requests that each waited a millisecond behind something: the recent average shows it, the floor not.
        for (var i = 0; i < 8; i++)
        {
            activity.Record(TimeSpan.FromMilliseconds(1));
        }

        var waiting = activity.Pressure(0);
        Assert.InRange(waiting.FloorLatency, TimeSpan.FromMicroseconds(100), TimeSpan.FromMicroseconds(250));
        Assert.True(waiting.Wait > TimeSpan.FromMicroseconds(400), $"wait {waiting.Wait} after 8 requests of 1 ms (floor {waiting.FloorLatency})");

        // Back to its own pace: the wait fades and the floor comes back down.
        for (var i = 0; i < 60; i++)
        {
            activity.Record(TimeSpan.FromMicroseconds(100));
        }

        var recovered = activity.Pressure(0);
        Assert.True(recovered.Wait < TimeSpan.FromMicroseconds(20), $"wait {recovered.Wait} after 60 requests of 100 us");
        Assert.InRange(recovered.FloorLatency, TimeSpan.FromMicroseconds(99), TimeSpan.FromMicroseconds(110));
    }

    [Fact]
    public async Task A_guest_request_queued_behind_a_held_metadata_lock_makes_the_copy_yield()
    {
        using var temp = new TempDirectory("pressure");
        var path = temp.Combine("disk.qcow2");
        Qcow2Image.Create(path, new ImageCreateOptions { Size = 64L * Cluster, ClusterSize = Cluster }).Dispose();
        using var live = new LiveDisk(path, new EngineSettings { StorageRoots = [temp.Path] });
        var data = new byte[4096];
        for (var i = 0; i < 20; i++)
        {
            live.Write(i * 4096L, data);
        }

        var calm = live.GuestPressure();
        Assert.Equal(0, calm.InFlight);
        Assert.Equal(0, calm.QueuedOnLock);
        Assert.True(calm.RecentLatency > TimeSpan.Zero && calm.FloorLatency > TimeSpan.Zero, $"latencies measured: {calm}");

        var pacing = new AdaptivePacing(live.GuestPressure, live.WaitForGuestGap, 128 * 1024);
        GuestPressure queued = default;
        var yieldedWhileQueued = false;
        Task? write = null;
        live.WithLock(() =>
        {
            // A write into an unallocated cluster needs the metadata lock, which the "copy" holds here.
            write = Task.Run(() => live.Write(40L * Cluster, data));
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (live.GuestPressure().QueuedOnLock == 0 && DateTime.UtcNow < deadline)
            {
                Thread.Yield();
            }

            queued = live.GuestPressure();
            yieldedWhileQueued = pacing.Yield();
            Thread.Sleep(20);
        });
        await write!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, queued.QueuedOnLock);
        Assert.Equal(1, queued.InFlight);
        Assert.True(yieldedWhileQueued, "the copy did not yield while a guest request waited on its lock");

        // The 20 ms that request waited show in its latency: while that guest goes on (its next request in flight, on
        // a machine too loaded to check within the idle window otherwise) the copy keeps yielding.
        var after = live.GuestPressure();
        Assert.True(after.Wait > TimeSpan.FromMilliseconds(1), $"the wait behind the lock was not measured: {after}");
        Assert.True(GuestPacer.Decide(after with { InFlight = 1 }, wasYielding: true, 128 * 1024).Yield, $"the copy stopped yielding after the guest waited: {after}");
    }
}
