using System.Runtime.CompilerServices;
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
        foreach (var (option, value) in flags)
        {
            settings.Add(new(KeyOf(option), value));
        }

        for (var i = 0; i < storageRoots.Count; i++)
        {
            settings.Add(new($"{NodeOptions.StorageRootsKey}:{i}", storageRoots[i]));
        }

        try
        {
            var options = NodeOptions.FromConfiguration(NodeConfiguration.Build(settings));
            NodeHost.RunAsync(options).GetAwaiter().GetResult();
        }
        catch (NodeConfigurationException e)
        {
            throw new UsageException(e.Message);
        }

        return 0;
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
        _ => throw new ArgumentOutOfRangeException(nameof(option), option, "not a serve option"),
    };
}
