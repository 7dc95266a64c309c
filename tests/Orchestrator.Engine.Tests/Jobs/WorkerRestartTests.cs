using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Qcow2.IO;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests.Jobs;

/// <summary>
/// A stream worker that crashes on a bug (not an I/O error, which the on-error policy handles) is restarted by its
/// back-off supervisor and copies on from the last checkpoint; when the restarts run out the job fails with the error.
/// The bug is injected at the file layer (FaultInjection BUG), as no real disk throws one.
/// </summary>
[Collection(FaultInjectionCollection.Name)]
public sealed class WorkerRestartTests : EngineTestBase
{
    private const int Cluster = 65536;
    private static readonly DiskId Disk = new("vm1");

    private async Task<(IReadOnlyList<string> Chain, string Raw, long Host)> Prepare(string prefix, int seed)
    {
        var (chain, raw, _, host) = await PrepareFaultChain(Disk, prefix, seed, atOrAfter: 6 * MiB);
        return (chain, raw, host);
    }

    private static FaultInjection.Rule CrashOnRead(string file, long host, int times)
    {
        var rule = new FaultInjection.Rule("read", file, host, Cluster, FaultInjection.Error.Bug, times);
        FaultInjection.Add(rule);
        return rule;
    }

    [Fact]
    public async Task A_worker_that_crashes_twice_is_restarted_and_the_stream_completes_with_the_guest_view_unchanged()
    {
        var (chain, raw, host) = await Prepare("crash2-", 61);
        var crash = CrashOnRead("crash2-B.qcow2", host, times: 2);

        await Stream(Disk, new StreamRequest { Base = chain[0] });
        var completed = await WaitCompleted("vm1");
        FaultInjection.Clear();

        Assert.Equal(0, crash.Remaining);
        Assert.Null(completed.Error);
        Assert.Equal(completed.Len, completed.Offset);
        Assert.Equal(["created", "running", "waiting", "pending", "concluded", "null"], StatusesOf("vm1"));
        await SettleAfterJobEnd();
        Assert.Equal([chain[^1], chain[0]], (await Show(Disk)).Chain);
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }

    [Fact]
    public async Task A_worker_that_crashes_on_every_restart_fails_the_job_with_the_error_and_leaves_the_chain()
    {
        var (chain, raw, host) = await Prepare("crashall-", 62);
        CrashOnRead("crashall-B.qcow2", host, times: -1);

        await Stream(Disk, new StreamRequest { Base = chain[0] });
        var completed = await WaitCompleted("vm1");
        FaultInjection.Clear();

        Assert.NotNull(completed.Error);
        Assert.Contains("injected bug", completed.Error, StringComparison.Ordinal);
        Assert.Contains("internal error", completed.Error, StringComparison.Ordinal);
        await SettleAfterJobEnd();
        Assert.Equal(chain.Reverse(), (await Show(Disk)).Chain);
        ImageAssert.CheckClean(chain[^1]);
        ImageAssert.SameGuestView(chain[^1], raw);
    }
}
