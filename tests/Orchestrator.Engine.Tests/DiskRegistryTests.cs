using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;
using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;
using static Orchestrator.Engine.Tests.EngineFixture;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// The registry, through real actors, a real SQLite journal and real qcow2 files: one owner per image whatever the
/// name (hard link, symlink, '..'), concurrent registrations, job ids unique on the node, ids that used to collide
/// with the manager's persistence id, and the same id errors from the front and from the disk entity.
/// </summary>
public sealed class DiskRegistryTests(ITestOutputHelper output) : EngineTestBase
{
    [Fact]
    public async Task Disks_named_manager_and_registry_live_beside_others_and_come_back_after_a_restart()
    {
        var names = new[] { "manager", "registry", "vm1" };
        foreach (var name in names)
        {
            Directory.CreateDirectory(PathOf(name));
            var chain = BuildChain(PathOf(name), 8 * MiB, seed: name.Length, layers: 2);
            await Register(new DiskId(name), chain[^1]);
        }

        await Stream(new DiskId("manager"), new StreamRequest());
        Assert.Null((await WaitCompleted("manager")).Error);
        await RestartAsync();

        // Right after the restart the disks are listed while they reopen their chains, then ready.
        var list = await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks());
        Assert.Equal(names, list.Disks.Select(d => d.Disk));
        Assert.All(list.Disks, d => Assert.Contains(d.State, new[] { DiskStates.Opening, DiskStates.Ready }));
        await WaitUntil(async () => (await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks.All(d => d.State == DiskStates.Ready),
            "every disk to be ready");
        Assert.Single((await Show(new DiskId("manager"))).Chain);
        await Stream(new DiskId("registry"), new StreamRequest { JobId = new JobId("again") });
        Assert.Null((await WaitCompleted("again")).Error);
    }

    [Theory]
    [InlineData("a\n")]
    [InlineData("../evil")]
    [InlineData("9lives")]
    [InlineData("")]
    public async Task An_id_the_rule_refuses_gets_the_same_error_from_the_front_and_from_the_disk_entity(string id)
    {
        var chain = BuildChain(Dir, 8 * MiB, seed: 5, layers: 1);
        var expected = IdRule.Problem(id, "id");
        Assert.NotNull(expected);

        var fromFront = await Node.AskRefused(new DiskCommands.Register(new DiskId(id), chain[^1]));
        var entity = Node.System.ActorOf(DiskChainActor.Props(new DiskId(id), Settings, Node.Registry), "direct-entity");
        var fromEntity = (DiskReplies.Refused)await entity.Ask<object>(new DiskCommands.Register(new DiskId(id), chain[^1]), EngineNode.AskTimeout);

        Assert.Equal(new DomainError("invalid-parameter", expected), fromFront.Error);
        Assert.Equal(fromFront.Error, fromEntity.Error);
        Assert.Empty((await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks);
    }

    [Fact]
    public async Task Twenty_concurrent_registrations_of_one_image_give_one_success_and_clear_refusals()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 7, layers: 2);
        var replies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Node.Ask(new DiskCommands.Register(new DiskId($"d{i}"), chain[^1]))));

        Assert.Single(replies.OfType<DiskReplies.DiskInfo>());
        var refusals = replies.OfType<DiskReplies.Refused>().ToList();
        Assert.Equal(19, refusals.Count);
        Assert.All(refusals, r =>
        {
            Assert.Equal("busy", r.Error.Code);
            Assert.Contains(Path.GetFileName(chain[^1]), r.Error.Message, StringComparison.Ordinal);
        });
        Assert.Single((await Node.AskOk<ManagerCommands.DiskList>(new ManagerCommands.ListDisks())).Disks);
        await Node.StopAsync();
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task A_hard_link_a_symlink_or_a_dotdot_path_to_an_owned_image_is_refused()
    {
        var chain = BuildChain(Dir, 16 * MiB, seed: 8, layers: 2);
        await Register(new DiskId("owner"), chain[^1]);
        Directory.CreateDirectory(PathOf("sub"));
        var hard = PathOf("hard.qcow2");
        var soft = PathOf("soft.qcow2");
        Assert.Equal(0, Link(chain[^1], hard));
        File.CreateSymbolicLink(soft, chain[^1]);
        var dotdot = Path.Combine(Dir, "sub", "..", Path.GetFileName(chain[^1]));

        foreach (var (name, path) in new[] { ("hard", hard), ("soft", soft), ("dotdot", dotdot) })
        {
            var refused = await Node.AskRefused(new DiskCommands.Register(new DiskId(name), path));
            output.WriteLine($"{name}: {refused.Error.Message}");
            Assert.Equal("busy", refused.Error.Code);
            Assert.Contains("'owner'", refused.Error.Message, StringComparison.Ordinal);
        }

        // The base is only read: another disk may share it.
        var clone = PathOf("clone.qcow2");
        QemuTools.Create(clone, 16 * MiB, backing: Path.GetFileName(chain[0]));
        await Register(new DiskId("clone"), clone);

        // A snapshot may not be written where another disk's image is (by any name).
        var snapshot = await Node.AskRefused(new DiskCommands.Snapshot(new DiskId("clone"), dotdot));
        Assert.NotEqual("ok", snapshot.Error.Code);
        await Node.StopAsync();
        ImageAssert.CheckClean(chain[^1]);
    }

    [Fact]
    public async Task Job_ids_are_unique_on_the_node_default_ids_included()
    {
        var one = PathOf("one");
        var two = PathOf("two");
        Directory.CreateDirectory(one);
        Directory.CreateDirectory(two);
        await Register(new DiskId("vm1"), BuildChain(one, 16 * MiB, seed: 9, layers: 3)[^1]);
        await Register(new DiskId("vm2"), BuildChain(two, 16 * MiB, seed: 10, layers: 3)[^1]);

        await Stream(new DiskId("vm1"), new StreamRequest { JobId = new JobId("shared"), Speed = 1 * MiB });
        var sameExplicit = await Node.AskRefused(new DiskCommands.Stream(new DiskId("vm2"), new StreamRequest { JobId = new JobId("shared") }));
        Assert.Equal("conflict", sameExplicit.Error.Code);
        Assert.Contains("'vm1'", sameExplicit.Error.Message, StringComparison.Ordinal);

        // vm1's explicit job id "vm2" is vm2's default job id (kept after it ends until dismissed).
        await Verb(new DiskId("vm1"), "shared", JobVerb.SetSpeed, 0);
        await WaitCompleted("shared");
        await Stream(new DiskId("vm1"), new StreamRequest { JobId = new JobId("vm2"), AutoDismiss = false });
        var defaultId = await Node.AskRefused(new DiskCommands.Stream(new DiskId("vm2"), new StreamRequest()));
        Assert.Equal("conflict", defaultId.Error.Code);

        // A lookup by job id finds the one disk that holds it; the id is free again once that job is gone.
        var found = await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.QueryJob(new JobId("vm2")));
        Assert.Equal("vm1", found.Jobs.Single().Disk);
        await WaitCompleted("vm2");
        await Node.AskOk<DiskReplies.JobList>(new ManagerCommands.JobVerbById(new JobId("vm2"), JobVerb.Dismiss));
        await WaitUntil(async () => await Node.Ask(new DiskCommands.Stream(new DiskId("vm2"), new StreamRequest())) is DiskReplies.JobStarted,
            "vm2's default job id to be free");
        Assert.Null((await WaitCompleted("vm2")).Error);
    }

    [Fact]
    public async Task Registration_racing_a_restart_never_gives_one_image_to_two_disks()
    {
        var seed = Environment.GetEnvironmentVariable("ORCH_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (set ORCH_TEST_SEED to reproduce)");
        var random = new Random(seed);
        for (var round = 0; round < 6; round++)
        {
            var folder = PathOf($"r{round}");
            Directory.CreateDirectory(folder);
            var chain = BuildChain(folder, 8 * MiB, seed: round, layers: 2);
            var first = new DiskId($"first{round}");
            var second = new DiskId($"second{round}");

            // The restart falls somewhere in the first registration (or just after it).
            var registering = Node.Ask(new DiskCommands.Register(first, chain[^1]));
            await Task.Delay(random.Next(0, 60));
            await RestartAsync();
            _ = await Task.WhenAny(registering, Task.Delay(100));

            // Right after the restart, before any disk has reopened its chain, the same image under another id.
            var reply = await Node.Ask(new DiskCommands.Register(second, chain[^1]));
            var firstInfo = await Node.Ask(new DiskCommands.Show(first));
            var owners = new[] { firstInfo, reply }.Count(r => r is DiskReplies.DiskInfo);
            output.WriteLine($"round {round}: first={Describe(firstInfo)} second={Describe(reply)}");
            Assert.True(owners <= 1, $"round {round}: both disks own the image");
            if (owners == 0)
            {
                // The first registration was cut short after its claim: the claim is released once that disk has
                // recovered (and found no registration in its own journal); then the image is free.
                Assert.Equal("busy", Assert.IsType<DiskReplies.Refused>(reply).Error.Code);
                await WaitUntil(async () => await Node.Ask(new DiskCommands.Register(second, chain[^1])) is DiskReplies.DiskInfo,
                    $"round {round}: the cut-short claim to be released");
            }
        }
    }

    private static string Describe(object reply) => reply switch
    {
        DiskReplies.DiskInfo i => $"registered ({i.State})",
        DiskReplies.Refused r => $"{r.Error.Code}: {r.Error.Message}",
        _ => reply.ToString() ?? "",
    };

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);
}
