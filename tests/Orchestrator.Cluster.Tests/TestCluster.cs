using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Akka.Cluster;
using ClusterSettings = Orchestrator.Engine.Cluster.ClusterSettings;
using Orchestrator.Engine;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Persistence;
using Orchestrator.Testing;

namespace Orchestrator.Cluster.Tests;

/// <summary>
/// Several in-process nodes joined in one cluster on 127.0.0.1 (the first seeds the others), sharing one fresh
/// PostgreSQL database as a real cluster shares its journal, and a host table standing in for the registry.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly PostgresTestDatabase _database = new("cluster");
    private readonly Dictionary<string, int> _ports = [];
    private readonly List<ClusterNode> _nodes = [];

    public TestCluster()
    {
        Journal = JournalSettings.Postgres(_database.ConnectionString);
    }

    public JournalSettings Journal { get; }

    /// <summary>Disk id -> host, read by every node's allocation strategy (the registry's host field, later).</summary>
    public ConcurrentDictionary<string, string> Hosts { get; } = new();

    /// <summary>Every entity start on any node, in order.</summary>
    public ConcurrentQueue<TestEntity.EntityStart> Starts { get; } = new();

    public ClusterNode this[string name] => _nodes.Last(n => n.Name == name);

    /// <summary>Storage roots every node declares shared (the shared-storage failover).</summary>
    public IReadOnlyList<string> SharedRoots { get; init; } = [];

    /// <summary>When set, each node also runs the real engine with these settings (by node name).</summary>
    public Func<string, EngineSettings>? Engine { get; init; }

    public static Task<TestCluster> StartAsync(params string[] names) => StartAsync(new TestCluster(), names);

    /// <summary>Nodes that run the real engine too, each with the settings <paramref name="engine"/> gives for its name.</summary>
    public static Task<TestCluster> StartWithEngineAsync(Func<string, EngineSettings> engine, params string[] names) =>
        StartAsync(new TestCluster { Engine = engine }, names);

    /// <summary>Nodes that run the real engine and all declare <paramref name="sharedRoots"/> shared.</summary>
    public static Task<TestCluster> StartWithEngineAsync(Func<string, EngineSettings> engine, IReadOnlyList<string> sharedRoots, params string[] names) =>
        StartAsync(new TestCluster { Engine = engine, SharedRoots = sharedRoots }, names);

    private static async Task<TestCluster> StartAsync(TestCluster cluster, string[] names)
    {
        try
        {
            foreach (var name in names)
            {
                await cluster.StartNodeAsync(name);
            }

            await cluster.WaitAllUpAsync(names, TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts <paramref name="name"/> (again, on its former port, when it ran before) and joins it to the first node.</summary>
    public async Task<ClusterNode> StartNodeAsync(string name)
    {
        if (!_ports.TryGetValue(name, out var port))
        {
            _ports[name] = port = FreePort();
        }

        var first = _ports.First();
        var settings = new ClusterSettings
        {
            NodeName = name,
            Port = port,
            Seeds = first.Key == name ? [] : [$"127.0.0.1:{first.Value}"],
            StableAfter = TimeSpan.FromSeconds(4),
            ShutdownPhaseTimeout = TimeSpan.FromSeconds(2),
            SharedRoots = SharedRoots,
        };
        var node = await ClusterNode.StartAsync(settings, Journal, id => ValueTask.FromResult(Hosts.TryGetValue(id, out var host) ? host : null), Starts,
            Engine?.Invoke(name));
        _nodes.Add(node);
        return node;
    }

    /// <summary>Waits until every named node sees all of them Up.</summary>
    public async Task WaitAllUpAsync(IReadOnlyCollection<string> names, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var name in names)
        {
            var node = this[name];
            while (Akka.Cluster.Cluster.Get(node.System).State.Members.Count(m => m.Status == MemberStatus.Up && names.Any(m.HasRole)) < names.Count)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{name} does not see [{string.Join(", ", names)}] all Up within {timeout.TotalSeconds} s: "
                        + string.Join(", ", Akka.Cluster.Cluster.Get(node.System).State.Members.Select(m => $"{string.Join('/', m.Roles)} {m.Status}")));
                }

                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // In parallel: each node's coordinated shutdown waits for the others' answers (dotnet-stack.md).
        await Task.WhenAll(_nodes.Select(async n =>
        {
            try
            {
                await n.StopAsync();
            }
            catch (TimeoutException)
            {
                // A node that did not stop in 30 s is abandoned with the test process.
            }
        }));
        _database.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
