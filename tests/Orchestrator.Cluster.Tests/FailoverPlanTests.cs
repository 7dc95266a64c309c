using Akka.Actor;
using Akka.Cluster;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Cluster;
using ClusterSettings = Orchestrator.Engine.Cluster.ClusterSettings;
using Xunit;

namespace Orchestrator.Cluster.Tests;

/// <summary>The shared-storage failover's rules as pure functions: which disks of a downed host move, and where.</summary>
public sealed class FailoverPlanTests
{
    private const string Shared = "/srv/shared";
    private const string Other = "/srv/other";

    private static MemberView Member(int port, string node, MemberStatus status = MemberStatus.Up, bool reachable = true, params string[] shared) =>
        new(new Address("akka.tcp", "orchestrator", "127.0.0.1", port), new HashSet<string>(["dc-default", .. shared.Select(SharedRoots.RoleOf), node]), status, reachable);

    private static RegisteredDisk Disk(string id, params string[] paths) =>
        new(id, "n2", [.. paths.Select((p, i) => new ImageClaim("key:" + p, p, Writable: i == 0))], Confirmed: true);

    private static RegistryState Registry(params RegisteredDisk[] disks) =>
        disks.Aggregate(RegistryState.Empty, (s, d) => s.Apply(new RegistryEvents.DiskClaimed(d.Disk, d.Host, d.Images)))
            .Apply(new RegistryEvents.JobClaimed("job-a", "a"));

    [Fact]
    public void Only_disks_whose_every_image_lies_under_one_shared_root_move()
    {
        var registry = Registry(
            Disk("a", $"{Shared}/a/top.qcow2", $"{Shared}/a/base.qcow2"),
            Disk("local", "/var/lib/n2/top.qcow2"),
            Disk("split", $"{Shared}/s/top.qcow2", "/var/lib/n2/base.qcow2"),
            Disk("prefix", "/srv/sharedness/top.qcow2"),
            Disk("elsewhere", $"{Other}/top.qcow2"));
        MemberView[] members = [Member(1, "n1", shared: Shared), Member(3, "n3", shared: Shared)];

        var moving = new[] { "n1", "n3" }.SelectMany(n => FailoverPlan.For(registry, "n2", n, members)).ToList();

        var a = Assert.Single(moving);
        Assert.Equal(("a", Shared, "job-a"), (a.Disk.Disk, a.Root, Assert.Single(a.Jobs)));
    }

    [Fact]
    public void Each_disk_goes_to_exactly_one_survivor_that_declares_its_root_and_the_disks_spread()
    {
        var registry = Registry([.. Enumerable.Range(0, 40).Select(i => Disk($"d{i}", $"{Shared}/d{i}.qcow2"))]);
        MemberView[] members =
        [
            Member(1, "n1", shared: Shared),
            Member(2, "n2", MemberStatus.Down, reachable: false, shared: Shared),
            Member(3, "n3", shared: Shared),
            Member(4, "n4", shared: Other),
            Member(5, "n5", MemberStatus.Up, reachable: false, shared: Shared),
        ];

        var plans = new[] { "n1", "n3", "n4", "n5" }.ToDictionary(n => n, n => FailoverPlan.For(registry, "n2", n, members).Select(t => t.Disk.Disk).ToList());

        // n2 is the downed host, n4 does not share the root, n5 is unreachable: only n1 and n3 take disks.
        Assert.Empty(plans["n4"]);
        Assert.Empty(plans["n5"]);
        Assert.Equal(40, plans["n1"].Count + plans["n3"].Count);
        Assert.Empty(plans["n1"].Intersect(plans["n3"]));
        Assert.InRange(plans["n1"].Count, 8, 32);
        Assert.All(plans["n1"], d => Assert.Equal("n1", FailoverPlan.TakerOf(d, Shared, "n2", members)));
    }

    [Fact]
    public void With_no_survivor_declaring_the_root_the_disk_waits_for_its_host()
    {
        MemberView[] members = [Member(1, "n1"), Member(3, "n3", shared: Other)];
        Assert.Null(FailoverPlan.TakerOf("a", Shared, "n2", members));
        Assert.Empty(FailoverPlan.For(Registry(Disk("a", $"{Shared}/a.qcow2")), "n2", "n1", members));
    }

    [Fact]
    public void A_moved_disk_leaves_its_former_hosts_registry_with_its_jobs_and_a_second_move_writes_nothing()
    {
        var registry = Registry(Disk("a", $"{Shared}/a.qcow2"), Disk("b", "/var/lib/b.qcow2"));
        var moved = registry.DecideMoveAway(["a", "a", "gone"], "n3");
        var e = Assert.IsType<RegistryEvents.DiskMoved>(Assert.Single(moved.Events));
        Assert.Equal(("a", "n3"), (e.Disk, e.ToHost));
        var after = registry.Apply(e);
        Assert.Equal(["b"], after.Disks.Keys);
        Assert.Empty(after.Jobs);
        Assert.Empty(after.DecideMoveAway(["a"], "n3").Events);
    }

    [Theory]
    [InlineData("relative/path", "not a full path")]
    [InlineData("/srv/\"quoted\"", "cannot carry")]
    [InlineData("/srv/${x}", "cannot carry")]
    public void A_shared_root_a_role_cannot_carry_is_refused_naming_it(string root, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => new ClusterSettings { SharedRoots = [root] });
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(root, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shared_roots_are_roles_beside_the_node_name()
    {
        var settings = new ClusterSettings { NodeName = "n7", SharedRoots = ["/srv/shared/", "/srv/shared"] };
        Assert.Equal(["n7", "shared-root:/srv/shared"], settings.Roles);
        Assert.Equal("n7", SharedRoots.NodeNameOf(settings.Roles));
        Assert.Equal("n7", SharedRoots.NodeNameOf(["dc-default", "shared-root:/srv/shared", "n7"]));
        Assert.Equal(["/srv/shared"], SharedRoots.Of(settings.Roles));
        Assert.Equal(settings.Roles, ClusterHocon.Own(settings).GetStringList("akka.cluster.roles"));
    }
}
