using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Disks;
using Orchestrator.Testing;
using Xunit;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// Each host's registry has its own stream (registry-{node}), so nodes can share one database; the single registry of
/// earlier versions (registry-node) is adopted once by the first host that starts on its database, then deleted.
/// </summary>
public sealed class RegistryPerHostTests : IDisposable
{
    private const string OldName = "node";
    private readonly TempDirectory _dir = new("registry-host");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Adoption_takes_the_old_disks_and_jobs_onto_this_host_once()
    {
        var old = RegistryState.Empty
            .Apply(new RegistryEvents.LegacyManagerImported(["legacy"], "machine"))
            .Apply(new RegistryEvents.DiskClaimed("alpha", "machine", [new ImageClaim("1:2", "/a/top.qcow2", Writable: true)]))
            .Apply(new RegistryEvents.JobClaimed("job-1", "alpha"));

        var events = RegistryState.Empty.DecideAdopt(old, "n1").Events;
        var adopted = events.Aggregate(RegistryState.Empty, (s, e) => s.Apply(e));

        Assert.True(adopted.NodeRegistryImported);
        Assert.True(adopted.LegacyImported);
        Assert.Equal(["alpha", "legacy"], adopted.Disks.Keys.Order(StringComparer.Ordinal));
        Assert.All(adopted.Disks.Values, d => Assert.Equal("n1", d.Host));
        Assert.False(adopted.Disks["legacy"].Confirmed);
        Assert.Equal(new DiskId("alpha"), adopted.DiskOfJob(new("job-1")));
        Assert.Empty(adopted.DecideAdopt(old, "n1").Events);

        var restored = RegistryState.FromSnapshot(adopted.ToSnapshot());
        Assert.True(restored.NodeRegistryImported);
    }

    [Fact]
    public async Task A_registry_node_journal_is_adopted_by_the_host_that_starts_on_it()
    {
        var journal = _dir.Combine("journal.db");
        var settings = new EngineSettings { StorageRoots = [_dir.Path] };
        var chain = BuildChain(_dir.Path, 4 * 1024 * 1024, seed: 7, layers: 2, prefix: "alpha-");

        // A host named "node" writes exactly the stream earlier versions wrote, registry-node.
        var node = EngineNode.Start(journal, settings, nodeName: OldName);
        try
        {
            await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Register(new DiskId("alpha"), chain[^1]));
        }
        finally
        {
            await node.StopAsync();
        }

        for (var start = 0; start < 2; start++)
        {
            node = EngineNode.Start(journal, settings, nodeName: "n1");
            try
            {
                var list = await node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
                Assert.Equal(["alpha"], list.Disks.Select(d => d.Disk));
                Assert.Equal(2, (await node.AskOk<DiskReplies.DiskInfo>(new DiskCommands.Show(new DiskId("alpha")))).Chain.Count);

                // The adopted claims hold: alpha's active image cannot be registered again under another id.
                var twin = await node.AskRefused(new DiskCommands.Register(new DiskId("twin"), chain[^1]));
                Assert.Equal("busy", twin.Error.Code);
            }
            finally
            {
                await node.StopAsync();
            }
        }

        // The old stream was deleted once adopted: a host named "node" now starts with no disks.
        node = EngineNode.Start(journal, settings, nodeName: OldName);
        try
        {
            Assert.Empty((await node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks);
        }
        finally
        {
            await node.StopAsync();
        }
    }
}
