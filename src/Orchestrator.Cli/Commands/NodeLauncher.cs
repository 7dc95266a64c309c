using System.Runtime.CompilerServices;
using Orchestrator.ImageCommands;
using Orchestrator.Node;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// The CLI's only door to the node's assembly. .NET loads an assembly when a method that uses its types is first
/// compiled, so every Node type stays inside these methods (never in a signature, a field or a catch clause elsewhere):
/// client and image verbs never load ASP.NET Core, Akka or SQLite.
/// </summary>
public static class NodeLauncher
{
    /// <summary>Runs the node with the serve flags (option name, value) and storage roots, until it stops.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Serve(IReadOnlyList<KeyValuePair<string, string?>> flags, IReadOnlyList<string> storageRoots)
    {
        var settings = new List<KeyValuePair<string, string?>>();
        var seeds = 0;
        foreach (var (option, value) in flags)
        {
            settings.Add(new(option == "--seed" ? $"{NodeOptions.SeedsKey}:{seeds++}" : KeyOf(option), value));
        }

        for (var i = 0; i < storageRoots.Count; i++)
        {
            settings.Add(new($"{NodeOptions.StorageRootsKey}:{i}", storageRoots[i]));
        }

        try
        {
            var options = NodeOptions.FromConfiguration(NodeConfiguration.Build(settings));
            return NodeHost.RunAsync(options).GetAwaiter().GetResult();
        }
        catch (NodeConfigurationException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>
    /// A node inside this process (the demo's): data folder and storage root given, HTTP on a free loopback port
    /// (published in the data folder's endpoint file), until <paramref name="stop"/> fires.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task RunInProcessAsync(string dataDirectory, string storageRoot, string cache, CancellationToken stop)
    {
        List<KeyValuePair<string, string?>> settings =
        [
            new(NodeOptions.DataKey, dataDirectory),
            new(NodeOptions.HttpKey, "127.0.0.1:0"),
            new(NodeOptions.CacheKey, cache),
            new($"{NodeOptions.StorageRootsKey}:0", storageRoot),
        ];

        // The data folder holds no appsettings.json: the demo's node takes only these settings and the defaults.
        var options = NodeOptions.FromConfiguration(NodeConfiguration.Build(settings, dataDirectory));
        return Task.Run(() => NodeHost.RunAsync(options, stop), CancellationToken.None);
    }

    private static string KeyOf(string option) => option switch
    {
        "--data" => NodeOptions.DataKey,
        "--http" => NodeOptions.HttpKey,
        "--cache" => NodeOptions.CacheKey,
        "--request-timeout" => NodeOptions.RequestTimeoutKey,
        "--batch-size" => NodeOptions.BatchSizeKey,
        "--checkpoint-size" => NodeOptions.CheckpointSizeKey,
        "--snapshot-interval" => NodeOptions.SnapshotIntervalKey,
        "--guest-yield-size" => NodeOptions.GuestYieldSizeKey,
        "--nbd" => NodeOptions.NbdKey,
        "--nbd-allow-remote" => NodeOptions.NbdAllowRemoteKey,
        "--nbd-read-only" => NodeOptions.NbdReadOnlyKey,
        "--nbd-handshake-timeout" => NodeOptions.NbdHandshakeTimeoutKey,
        "--journal" => NodeOptions.JournalKey,
        "--node-name" => NodeOptions.NodeNameKey,
        "--cluster-host" => NodeOptions.ClusterHostKey,
        "--cluster-port" => NodeOptions.ClusterPortKey,
        "--image-locking" => NodeOptions.ImageLockingKey,
        "--log-format" => Node.Observability.ObservabilityOptions.LogFormatKey,
        "--metrics-need-token" => Node.Observability.ObservabilityOptions.MetricsNeedTokenKey,
        _ => throw new ArgumentOutOfRangeException(nameof(option), option, "not a serve option"),
    };
}
