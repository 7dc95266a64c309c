using Orchestrator.Node;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator serve [--data DIR] [--http HOST:PORT] [--storage-root DIR ...] [--cache none|writeback]
/// [--request-timeout SECONDS] [--batch-size BYTES] [--checkpoint-size BYTES] [--snapshot-interval EVENTS]
/// [--guest-yield-size BYTES] [--nbd HOST:PORT [--nbd-allow-remote]] [--image-locking on|off]: runs the node until Ctrl+C or SIGTERM.
/// Flags override ORCHESTRATOR_* environment variables, which override appsettings.json in the current folder.
/// </summary>
public static class ServeCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = new CommandLine(args, ["--data", "--http", "--storage-root", "--cache", "--request-timeout", "--batch-size", "--checkpoint-size",
            "--snapshot-interval", "--guest-yield-size", "--nbd", "--image-locking"], ["--nbd-allow-remote"]);
        cl.LimitPositional(0);
        var flags = new List<KeyValuePair<string, string?>>();
        Add(flags, NodeOptions.DataKey, cl.Value("--data"));
        Add(flags, NodeOptions.HttpKey, cl.Value("--http"));
        Add(flags, NodeOptions.CacheKey, cl.Value("--cache"));
        Add(flags, NodeOptions.RequestTimeoutKey, cl.Value("--request-timeout"));
        Add(flags, NodeOptions.BatchSizeKey, cl.Value("--batch-size"));
        Add(flags, NodeOptions.CheckpointSizeKey, cl.Value("--checkpoint-size"));
        Add(flags, NodeOptions.SnapshotIntervalKey, cl.Value("--snapshot-interval"));
        Add(flags, NodeOptions.GuestYieldSizeKey, cl.Value("--guest-yield-size"));
        Add(flags, NodeOptions.NbdKey, cl.Value("--nbd"));
        Add(flags, NodeOptions.NbdAllowRemoteKey, cl.Has("--nbd-allow-remote") ? "true" : null);
        Add(flags, NodeOptions.ImageLockingKey, cl.Value("--image-locking"));
        var roots = cl.Values("--storage-root");
        for (var i = 0; i < roots.Count; i++)
        {
            Add(flags, $"{NodeOptions.StorageRootsKey}:{i}", roots[i]);
        }

        var options = NodeOptions.FromConfiguration(NodeConfiguration.Build(flags));
        NodeHost.RunAsync(options).GetAwaiter().GetResult();
        return 0;
    }

    private static void Add(List<KeyValuePair<string, string?>> flags, string key, string? value)
    {
        if (value is not null)
        {
            flags.Add(new(key, value));
        }
    }
}
