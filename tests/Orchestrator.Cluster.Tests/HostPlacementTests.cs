using Akka.Actor;
using Akka.Cluster;
using Orchestrator.Engine.Cluster;
using Xunit;

namespace Orchestrator.Cluster.Tests;

/// <summary>The pinning rules as pure functions: which member is a host, and when commands for it are refused.</summary>
public sealed class HostPlacementTests
{
    private static readonly Address A1 = new("akka.tcp", "orchestrator", "127.0.0.1", 4051);
    private static readonly Address A2 = new("akka.tcp", "orchestrator", "127.0.0.1", 4052);
    private static readonly Address A2Again = new("akka.tcp", "orchestrator", "127.0.0.1", 4062);

    private static MemberView Member(Address address, string role, MemberStatus status, bool reachable = true) =>
        new(address, new HashSet<string> { role }, status, reachable);

    [Fact]
    public void The_host_is_the_Up_member_with_its_role()
    {
        MemberView[] members = [Member(A1, "n1", MemberStatus.Up), Member(A2, "n2", MemberStatus.Up)];
        Assert.Equal(A2, HostPlacement.UpAddress("n2", members));
        Assert.Null(HostPlacement.UpAddress("n3", members));
    }

    [Fact]
    public void A_restarted_host_is_found_by_its_Up_incarnation_while_the_old_one_is_still_listed()
    {
        MemberView[] members = [Member(A2, "n2", MemberStatus.Down, reachable: false), Member(A2Again, "n2", MemberStatus.Up)];
        Assert.Equal(A2Again, HostPlacement.UpAddress("n2", members));
        Assert.Equal(HostStatus.Up, HostPlacement.StatusOf("n2", members));
    }

    [Theory]
    [InlineData(MemberStatus.Up, true, HostStatus.Up)]
    [InlineData(MemberStatus.Up, false, HostStatus.Unreachable)]
    [InlineData(MemberStatus.Joining, true, HostStatus.Unreachable)]
    [InlineData(MemberStatus.Leaving, true, HostStatus.Unreachable)]
    [InlineData(MemberStatus.Exiting, true, HostStatus.Unreachable)]
    [InlineData(MemberStatus.Down, false, HostStatus.Unreachable)]
    public void Commands_go_only_to_an_Up_and_reachable_host(MemberStatus status, bool reachable, HostStatus expected)
    {
        Assert.Equal(expected, HostPlacement.StatusOf("n2", [Member(A1, "n1", MemberStatus.Up), Member(A2, "n2", status, reachable)]));
    }

    [Fact]
    public void A_host_that_is_no_member_is_absent()
    {
        Assert.Equal(HostStatus.Absent, HostPlacement.StatusOf("n9", [Member(A1, "n1", MemberStatus.Up)]));
    }

    [Fact]
    public void The_unreachable_message_names_the_host_and_says_what_happens_next()
    {
        Assert.Equal("host n2 is unreachable; its jobs resume when it returns", new HostUnreachableException("n2", HostStatus.Unreachable).Message);
        Assert.StartsWith("host n2 is unreachable (not a member", new HostUnreachableException("n2", HostStatus.Absent).Message, StringComparison.Ordinal);
    }
}
