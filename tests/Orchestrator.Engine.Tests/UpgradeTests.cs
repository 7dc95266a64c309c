using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// A journal written by the node before the registry (commit 001843f; Fixtures/old-main/make.sh made it) recovers:
/// the old disk manager's stream "disk-manager" (a ManagerSnapshot, then events) is imported once into the registry,
/// every disk comes back with its chain, and the old stream is then deleted so a new disk named "manager" starts clean.
/// </summary>
public sealed class UpgradeTests : IAsyncLifetime
{
    // The old journal names its images by absolute path: they are put back where the old node saw them.
    private const string FixtureRoot = "/tmp/orch-upgrade-fixture";
    private readonly TempDirectory _dir = new("upgrade");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_journal_of_the_old_disk_manager_recovers_into_the_registry()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "old-main");
        var journal = _dir.Combine("journal.db");
        File.Copy(Path.Combine(fixture, "data", "journal.db"), journal);
        if (Directory.Exists(FixtureRoot))
        {
            Directory.Delete(FixtureRoot, recursive: true);
        }

        CopyFolder(Path.Combine(fixture, "images"), Path.Combine(FixtureRoot, "images"));
        var settings = new EngineSettings { StorageRoots = [Path.Combine(FixtureRoot, "images")], SnapshotInterval = 3 };
        var images = Path.Combine(FixtureRoot, "images");

        var node = EngineNode.Start(journal, settings);
        try
        {
            await WaitReady(node, ["alpha", "beta", "delta"]);
            var alpha = await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("alpha")));
            Assert.Equal([$"{images}/alpha/snap.qcow2", $"{images}/alpha/top.qcow2", $"{images}/alpha/base.qcow2"], alpha.Chain);
            var beta = await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("beta")));
            Assert.Equal([$"{images}/beta/top.qcow2"], beta.Chain);

            // The imported disks' images are owned: registering one again under another id is refused.
            var twin = await node.AskRefused(new DiskCommands.Register(new DiskId("twin"), $"{images}/delta/top.qcow2"));
            Assert.Equal("busy", twin.Error.Code);

            // gamma was removed before the upgrade; its images are free.
            await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("gamma"), $"{images}/gamma/top.qcow2"));
        }
        finally
        {
            await node.StopAsync();
        }

        // Imported once: a disk named "manager" now owns the persistence id the old manager used, and a restart
        // neither imports the old stream again nor feeds it to that disk.
        node = EngineNode.Start(journal, settings);
        try
        {
            var chain = BuildChain(images, 4 * 1024 * 1024, seed: 1, layers: 2, prefix: "manager-");
            await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("manager"), chain[^1]));
        }
        finally
        {
            await node.StopAsync();
        }

        node = EngineNode.Start(journal, settings);
        try
        {
            await WaitReady(node, ["alpha", "beta", "delta", "gamma", "manager"]);
            Assert.Equal(2, (await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("manager")))).Chain.Count);
            await node.AskOk<DiskReplies.JobStarted>(new DiskCommands.Stream(new DiskId("manager"), new StreamRequest()));
            await node.WaitForEvent<BlockJobCompletedEvent>(e => e.Device == "manager", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await node.StopAsync();
            Directory.Delete(FixtureRoot, recursive: true);
        }
    }

    /// <summary>The disks listed are exactly <paramref name="names"/>, and all of them reopen their chains.</summary>
    private static async Task WaitReady(EngineNode node, string[] names)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var list = await node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
            Assert.Equal(names, list.Disks.Select(d => d.Disk));
            if (list.Disks.All(d => d.State == DiskStates.Ready))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not every disk became ready: {string.Join(", ", list.Disks)}");
            await Task.Delay(50);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var folder in Directory.GetDirectories(from))
        {
            CopyFolder(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }
}
