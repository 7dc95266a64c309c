using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// The guest keeps writing the active image while a stream copies into it: the copy must never overwrite what the
/// guest wrote, and the image must stay clean (no corruption, no leaked clusters).
/// </summary>
public sealed class GuestWriteTests : EngineTestBase
{
    private static readonly DiskId Disk = new("vm1");

    private Task<LiveDisk> LiveDiskOf(DiskId disk) => Node.LiveDisk(disk);

    [Fact]
    public async Task Guest_writes_during_a_stream_are_never_overwritten_by_the_copy()
    {
        var chain = BuildChain(Dir, 32 * MiB, seed: 7);
        var top = chain[^1];
        var expected = GuestView(top);
        await Register(Disk, top);
        var live = await LiveDiskOf(Disk);

        await Stream(Disk, new StreamRequest { Speed = 8 * MiB });
        var random = new Random(77);
        for (var i = 0; i < 40; i++)
        {
            // Unaligned, partial-cluster writes all over the disk, racing the copy.
            var length = random.Next(1, 96) * 512;
            var offset = random.NextInt64(0, (expected.Length - length) / 512) * 512;
            var data = new byte[length];
            random.NextBytes(data);
            live.Write(offset, data);
            data.CopyTo(expected.AsSpan((int)offset));
            await Task.Delay(50);
        }

        live.Flush();
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        var raw = PathOf("expected.raw");
        await File.WriteAllBytesAsync(raw, expected);
        ImageAssert.CheckClean(top);
        ImageAssert.SameGuestView(top, raw);
        Assert.Null(ImageAssert.BackingFileOf(top));
    }

    [Fact]
    public async Task Guest_write_into_a_range_the_copy_has_written_but_not_yet_checkpointed_is_kept_and_leaks_nothing()
    {
        // Dense chain: each 1 MiB batch copies 1 MiB, a checkpoint falls every 2 MiB; at 1 MiB/s the batch before an
        // odd offset stays written-but-uncommitted for about a second.
        var chain = BuildDenseChain(Dir, 16 * MiB, seed: 91);
        var top = chain[^1];
        var expected = GuestView(top);
        await Register(Disk, top);
        var live = await LiveDiskOf(Disk);
        await Stream(Disk, new StreamRequest { Speed = 1 * MiB });

        var writes = 0;
        var random = new Random(910);
        while (writes < 3)
        {
            var offset = (await QueryLive(Disk, "vm1")).Offset;
            if (offset / MiB % 2 == 1)
            {
                // Into the middle of the last batch, partial cluster (copy-on-write) and unaligned.
                var at = offset - (MiB / 2) + 1000;
                var data = new byte[4096];
                random.NextBytes(data);
                live.Write(at, data);
                data.CopyTo(expected.AsSpan((int)at));
                writes++;
                await WaitForOffset(Disk, "vm1", offset + MiB);
            }

            await Task.Delay(10);
        }

        live.Flush();
        await Verb(Disk, "vm1", Orchestrator.Domain.Jobs.JobVerb.SetSpeed, 0);
        Assert.Null((await WaitCompleted("vm1")).Error);

        var raw = PathOf("expected.raw");
        await File.WriteAllBytesAsync(raw, expected);
        ImageAssert.SameGuestView(top, raw);
        ImageAssert.CheckClean(top);
    }
}
