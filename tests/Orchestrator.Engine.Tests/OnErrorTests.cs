using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Qcow2.IO;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>qemu-iotests 030 TestEIO / TestENOSPC: injected I/O faults under each on-error policy.</summary>
[Collection(FaultInjectionCollection.Name)]
public sealed class OnErrorTests : EngineTestBase
{
    private const int Cluster = 65536;
    private static readonly DiskId Disk = new("vm1");

    private Task<(IReadOnlyList<string> Chain, string Raw, long Guest, long Host)> Prepare(string prefix, int seed) =>
        PrepareFaultChain(Disk, prefix, seed, atOrAfter: 4 * MiB);

    private static void FailReads(string file, long host, int times = -1) =>
        FaultInjection.Add(new FaultInjection.Rule("read", file, host, Cluster, FaultInjection.Error.Io, times: times));

    private async Task<BlockJobErrorEvent> WaitError() => await Node.WaitForEvent<BlockJobErrorEvent>(e => e.Device == "vm1", JobTimeout);

    private async Task AssertChainUntouched(IReadOnlyList<string> chain, string raw)
    {
        await SettleAfterJobEnd();
        Assert.Equal(chain.Reverse(), (await Show(Disk)).Chain);
        Assert.Equal(Path.GetFileName(chain[^2]), ImageAssert.BackingFileOf(chain[^1]));
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    [Fact]
    public async Task Report_fails_the_job_with_the_error_and_leaves_the_chain()
    {
        var (chain, raw, guest, host) = await Prepare("report-", 51);
        FailReads("report-B.qcow2", host);

        await Stream(Disk, new StreamRequest { Base = chain[0] });
        var completed = await WaitCompleted("vm1");

        var error = Node.RunEvents().OfType<BlockJobErrorEvent>().Single();
        Assert.Equal(("read", "report"), (error.Operation, error.Action));
        Assert.Contains("Input/output error", completed.Error, StringComparison.Ordinal);
        Assert.True(completed.Offset <= guest, $"COMPLETED offset {completed.Offset} is past the failed cluster at {guest}");
        Assert.Equal(["BLOCK_JOB_ERROR", "BLOCK_JOB_COMPLETED"], BlockJobEventsOf("vm1"));
        Assert.Equal(["created", "running", "aborting", "concluded", "null"], StatusesOf("vm1"));
        FaultInjection.Clear();
        await AssertChainUntouched(chain, raw);

        // Nothing was committed: a new stream later finishes the work.
        await Stream(Disk, new StreamRequest { Base = chain[0], JobId = new JobId("again") });
        Assert.Null((await WaitCompleted("again")).Error);
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    [Fact]
    public async Task Ignore_goes_on_to_the_end_and_completes_with_the_error_without_committing()
    {
        var (chain, raw, _, host) = await Prepare("ignore-", 52);
        FailReads("ignore-B.qcow2", host);

        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Ignore });
        var completed = await WaitCompleted("vm1");

        var error = Node.RunEvents().OfType<BlockJobErrorEvent>().First();
        Assert.Equal(("read", "ignore"), (error.Operation, error.Action));
        Assert.Contains("Input/output error", completed.Error, StringComparison.Ordinal);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Equal("BLOCK_JOB_COMPLETED", BlockJobEventsOf("vm1")[^1]);
        Assert.Equal(["created", "running", "aborting", "concluded", "null"], StatusesOf("vm1"));
        FaultInjection.Clear();
        await AssertChainUntouched(chain, raw);
    }

    [Fact]
    public async Task Stop_pauses_with_io_status_failed_and_resume_completes_clean()
    {
        var (chain, raw, guest, host) = await Prepare("stop-", 53);
        FailReads("stop-B.qcow2", host);

        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Stop });
        var error = await WaitError();
        Assert.Equal(("read", "stop"), (error.Operation, error.Action));
        JobInfo info = null!;
        await WaitUntil(async () => (info = await QueryLive(Disk, "vm1")).Status == "paused", "status paused");
        Assert.Equal("failed", info.IoStatus);
        Assert.True(info.Paused);
        Assert.True(info.Offset <= guest, $"offset {info.Offset} is past the failed cluster at {guest}");

        FaultInjection.Clear();
        var resumed = (await Verb(Disk, "vm1", JobVerb.Resume)).Jobs.Single();
        Assert.Equal("ok", resumed.IoStatus);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Equal(["created", "running", "paused", "running", "waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        Assert.Equal("stop-A.qcow2", ImageAssert.BackingFileOf(chain[^1]));
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    [Fact]
    public async Task Job_stopped_by_an_error_can_be_cancelled_and_leaves_the_chain()
    {
        var (chain, raw, _, host) = await Prepare("stopcancel-", 54);
        FailReads("stopcancel-B.qcow2", host);

        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Stop });
        await WaitError();
        await WaitUntil(async () => (await QueryLive(Disk, "vm1")).Status == "paused", "status paused");
        await Verb(Disk, "vm1", JobVerb.Cancel);
        await Node.WaitForEvent<BlockJobCancelledEvent>(e => e.Device == "vm1", JobTimeout);

        Assert.DoesNotContain("BLOCK_JOB_COMPLETED", BlockJobEventsOf("vm1"));
        Assert.Null(await Query(Disk, "vm1"));
        FaultInjection.Clear();
        await AssertChainUntouched(chain, raw);
    }

    [Fact]
    public async Task Enospc_pauses_with_io_status_nospace_and_resume_after_space_returns_completes()
    {
        var (chain, raw, _, _) = await Prepare("nospc-", 55);
        FaultInjection.Add(new FaultInjection.Rule("write", "nospc-D.qcow2", 0, -1, FaultInjection.Error.NoSpace, times: -1));

        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Enospc });
        var error = await WaitError();
        JobInfo info = null!;
        await WaitUntil(async () => (info = await QueryLive(Disk, "vm1")).Status == "paused", "status paused");
        Assert.Equal("nospace", info.IoStatus);
        Assert.Equal("stop", error.Action);

        FaultInjection.Clear();
        await Verb(Disk, "vm1", JobVerb.Resume);
        var completed = await WaitCompleted("vm1");

        Assert.Null(completed.Error);
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);

        // Last, so that a failure here still shows that the stop and the resume work.
        Assert.Equal("write", error.Operation);
    }

    [Fact]
    public async Task Enospc_policy_reports_an_error_that_is_not_enospc()
    {
        var (chain, raw, _, host) = await Prepare("enospc-eio-", 56);
        FailReads("enospc-eio-B.qcow2", host);

        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Enospc });
        var completed = await WaitCompleted("vm1");

        var error = Node.RunEvents().OfType<BlockJobErrorEvent>().Single();
        Assert.Equal(("read", "report"), (error.Operation, error.Action));
        Assert.NotNull(completed.Error);
        FaultInjection.Clear();
        await AssertChainUntouched(chain, raw);
    }

    [Fact]
    public async Task Job_stopped_by_an_error_stays_stopped_across_a_restart_and_resume_completes()
    {
        var (chain, raw, _, host) = await Prepare("stoprestart-", 57);
        FailReads("stoprestart-B.qcow2", host);
        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Stop });
        await WaitError();
        await WaitUntil(async () => (await QueryLive(Disk, "vm1")).Status == "paused", "status paused");

        await RestartAsync();
        var after = await QueryLive(Disk, "vm1");
        Assert.Equal("paused", after.Status);
        Assert.Equal("failed", after.IoStatus);

        FaultInjection.Clear();
        await Verb(Disk, "vm1", JobVerb.Resume);
        Assert.Null((await WaitCompleted("vm1")).Error);
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    [Fact]
    public async Task Ignored_error_is_not_forgotten_across_a_restart()
    {
        var (chain, raw, guest, host) = await Prepare("ignorerestart-", 58);
        FailReads("ignorerestart-B.qcow2", host);
        await Stream(Disk, new StreamRequest { Base = chain[0], OnError = OnErrorPolicy.Ignore, Speed = 2 * MiB });
        var error = await WaitError();
        Assert.Equal("ignore", error.Action);

        // Let a checkpoint past the skipped range be persisted, then restart with the fault gone.
        await WaitForOffset(Disk, "vm1", guest + (4 * MiB));
        await QueryLive(Disk, "vm1");
        FaultInjection.Clear();
        await RestartAsync();
        await Verb(Disk, "vm1", JobVerb.SetSpeed, 0);
        var completed = await WaitCompleted("vm1");

        // Either the job still fails with its error (nothing committed) or it copied the skipped range after all:
        // never a commit that leaves the range to the base.
        if (completed.Error is null)
        {
            Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        }
        else
        {
            await AssertChainUntouched(chain, raw);
        }

        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    public override async Task DisposeAsync()
    {
        FaultInjection.Clear();
        await base.DisposeAsync();
    }
}
