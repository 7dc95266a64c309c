using System.Text.RegularExpressions;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// A node's place in the cluster; validated at construction so a bad value fails at start, naming the option. Every
/// node is a cluster member: with no seeds it joins itself (one node), else it joins the seeds.
/// </summary>
public sealed partial record ClusterSettings
{
    /// <summary>The ActorSystem's name: every node of one cluster must use the same.</summary>
    public const string SystemName = "orchestrator";

    private readonly string _nodeName = "n1";
    private readonly string _hostname = "127.0.0.1";
    private readonly int _port;
    private readonly IReadOnlyList<string> _seeds = [];
    private readonly TimeSpan _stableAfter = TimeSpan.FromSeconds(7);
    private readonly TimeSpan _heartbeatPause = TimeSpan.FromSeconds(3);
    private readonly TimeSpan _joinTimeout = TimeSpan.FromSeconds(60);
    private readonly TimeSpan _shutdownPhaseTimeout = TimeSpan.FromSeconds(10);
    private readonly IReadOnlyList<string> _sharedRoots = [];

    /// <summary>
    /// The node's name, also its cluster role: the registry's host field names it, and the disks registered on it are
    /// pinned to the member with this role. Lower-case letters, digits and '-', at most 63.
    /// </summary>
    public string NodeName
    {
        get => _nodeName;
        init => _nodeName = NodeNameProblem(value) is { } problem ? throw new ArgumentException(problem, nameof(NodeName)) : value;
    }

    /// <summary>What is wrong with <paramref name="name"/> as a node name, or null when it is one.</summary>
    public static string? NodeNameProblem(string? name) => NodeNameRule().IsMatch(name ?? "")
        ? null
        : $"'{name}' is not a node name: lower-case letters, digits and '-', starting with a letter or digit, at most 63";

    /// <summary>The address remoting binds and other members reach this node at.</summary>
    public string Hostname
    {
        get => _hostname;
        init => _hostname = string.IsNullOrWhiteSpace(value) || value.Contains(':', StringComparison.Ordinal) && !value.StartsWith('[')
            ? throw new ArgumentException($"'{value}' is not a host name or address (an IPv6 address goes in brackets)", nameof(Hostname))
            : value;
    }

    /// <summary>The remoting (cluster) TCP port; 0 picks a free one, which only a single node can use.</summary>
    public int Port
    {
        get => _port;
        init => _port = value is >= 0 and <= 65535 ? value : throw new ArgumentOutOfRangeException(nameof(Port), value, "must be between 0 and 65535");
    }

    /// <summary>HOST:PORT of the members to join; empty: the node joins itself and forms a cluster of one.</summary>
    public IReadOnlyList<string> Seeds
    {
        get => _seeds;
        init
        {
            foreach (var seed in value)
            {
                SeedAddress(seed);
            }

            _seeds = value.ToList();
        }
    }

    /// <summary>
    /// The split-brain resolver's stable-after: how long the membership must stay unchanged, with members unreachable,
    /// before the resolver downs the minority side (keep-majority).
    /// </summary>
    public TimeSpan StableAfter
    {
        get => _stableAfter;
        init => _stableAfter = value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromMinutes(10)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(StableAfter), value, "must be between 1 s and 10 min");
    }

    /// <summary>
    /// A node with seeds that is not a member this long after it started gives up and stops (exit code
    /// <see cref="ClusterExit.Code"/>), so that its service manager starts a fresh incarnation, which joins where a
    /// stuck one never would (a second line of defence: docs/operations.md, "A node that cannot join"). Zero: keep
    /// trying forever.
    /// </summary>
    public TimeSpan JoinTimeout
    {
        get => _joinTimeout;
        init => _joinTimeout = value == TimeSpan.Zero || (value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromHours(24))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(JoinTimeout), value, "must be 0 (never give up) or between 1 s and 24 h");
    }

    /// <summary>Heartbeats missed this long make a member unreachable (the failure detector's acceptable pause).</summary>
    public TimeSpan HeartbeatPause
    {
        get => _heartbeatPause;
        init => _heartbeatPause = value >= TimeSpan.FromMilliseconds(500) && value <= TimeSpan.FromMinutes(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(HeartbeatPause), value, "must be between 0.5 s and 1 min");
    }

    /// <summary>The longest each phase of coordinated shutdown (shard hand-off, leaving, exiting) may take.</summary>
    public TimeSpan ShutdownPhaseTimeout
    {
        get => _shutdownPhaseTimeout;
        init => _shutdownPhaseTimeout = value >= TimeSpan.FromMilliseconds(500) && value <= TimeSpan.FromMinutes(5)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ShutdownPhaseTimeout), value, "must be between 0.5 s and 5 min");
    }

    /// <summary>
    /// Storage roots this host shares with others at the same path (<see cref="Cluster.SharedRoots"/>): when a host is
    /// downed, its disks whose images all lie under one of them move to a surviving host that declares it too.
    /// </summary>
    public IReadOnlyList<string> SharedRoots
    {
        get => _sharedRoots;
        init
        {
            var roots = value.Select(r => Path.TrimEndingDirectorySeparator(r.Trim())).ToList();
            if (roots.Select(Cluster.SharedRoots.Problem).FirstOrDefault(p => p is not null) is { } problem)
            {
                throw new ArgumentException(problem, nameof(SharedRoots));
            }

            _sharedRoots = [.. roots.Distinct(StringComparer.Ordinal)];
        }
    }

    /// <summary>The member's roles: its node name, and one per shared root.</summary>
    public IReadOnlyList<string> Roles => [NodeName, .. SharedRoots.Select(Cluster.SharedRoots.RoleOf)];

    /// <summary>The Akka address of a seed given as HOST:PORT.</summary>
    /// <exception cref="ArgumentException">Not HOST:PORT with a port from 1 to 65535.</exception>
    public static Akka.Actor.Address SeedAddress(string seed)
    {
        var colon = seed?.LastIndexOf(':') ?? -1;
        if (seed is null || colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"'{seed}' is not a seed HOST:PORT (for example 127.0.0.1:4053)", nameof(Seeds));
        }

        return new Akka.Actor.Address("akka.tcp", SystemName, seed[..colon].Trim('[', ']'), port);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NodeNameRule();
}
