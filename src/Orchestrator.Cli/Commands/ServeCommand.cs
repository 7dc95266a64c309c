using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator serve [--data DIR] [--http HOST:PORT] [--storage-root DIR ...] [--cache none|writeback]
/// [--request-timeout SECONDS] [--batch-size BYTES] [--checkpoint-size BYTES] [--snapshot-interval EVENTS]
/// [--guest-yield-size BYTES] [--nbd HOST:PORT [--nbd-allow-remote]] [--nbd-read-only] [--nbd-handshake-timeout SECONDS]
/// [--log-format text|json] [--metrics-need-token true|false] [--journal sqlite:PATH|postgres:CONNSTRING]
/// [--node-name NAME] [--cluster-host HOST] [--cluster-port PORT] [--seed HOST:PORT ...] [--image-locking on|off]: runs the node until Ctrl+C or SIGTERM.
/// Flags override ORCHESTRATOR_* environment variables, which override appsettings.json in the current folder.
/// This class declares the verb only; the node's assemblies (ASP.NET Core, Akka, SQLite) are touched in
/// <see cref="NodeLauncher"/>, so that no other verb loads them.
/// </summary>
public static class ServeCommand
{
    private const string Description =
        "Run the node (the engine, its HTTP API on 127.0.0.1:8080 by default, the disks' NBD exports on DATA/nbd.sock) until Ctrl+C or SIGTERM; "
        + "flags override ORCHESTRATOR_* variables, which override appsettings.json in the current folder";

    public static Command Build() => new Command("serve", Description).With(
        Opt.Value("--data", "DIR", "the node's data folder (journal, token, endpoint, nbd.sock)"),
        Opt.Value("--http", "HOST:PORT", "where the HTTP API listens (default 127.0.0.1:8080)"),
        Opt.Value("--storage-root", "DIR", "a folder images may live under; repeat for several (default: the current folder)"),
        Opt.Choice("--cache", "cache mode of the images (default writeback)", ["none", "writeback"]),
        Opt.Value("--request-timeout", "SECONDS", "how long an API request waits for the engine"),
        Opt.Value("--batch-size", "BYTES", "bytes a stream copies per step (64K..256M, default 1M; the unit of the rate limit and of pause points)"),
        Opt.Value("--checkpoint-size", "BYTES", "bytes copied between persisted checkpoints (at least 64K, default 256M; a crash redoes at most this much)"),
        Opt.Value("--snapshot-interval", "EVENTS", "journal events between snapshots of a disk's state (1..1000000, default 100)"),
        Opt.Value("--guest-yield-size", "BYTES", "while the guest waits on a stream, the largest request the stream puts on the device (4K..64M, default 128K)"),
        Opt.Value("--nbd", "HOST:PORT", "also serve NBD over TCP (loopback only unless --nbd-allow-remote)"),
        Opt.Switch("--nbd-allow-remote", "let --nbd listen on a non-loopback address (NBD has no authentication)"),
        Opt.Switch("--nbd-read-only", "export every disk read-only: writes, trims and zeroes get EPERM"),
        Opt.Value("--nbd-handshake-timeout", "SECONDS", "disconnect an NBD client still in the handshake after this long (default 10)"),
        Opt.Value("--journal", "sqlite:PATH|postgres:CONNSTRING", "the journal and snapshot store (default: SQLite in the data folder)"),
        Opt.Value("--node-name", "NAME", "this node's name in the cluster (its role; default: the host name)"),
        Opt.Value("--cluster-host", "HOST", "the address the cluster reaches this node at (default 127.0.0.1)"),
        Opt.Value("--cluster-port", "PORT", "the cluster (Akka.Remote) port (default 0: any free port)"),
        Opt.Value("--seed", "HOST:PORT", "a seed node of the cluster to join; repeat for several (default: this node alone)"),
        Opt.Choice("--image-locking", "hold QEMU's image locks on open images, so a VM, qemu-nbd or another node cannot write them meanwhile (default on)", ["on", "off"]),
        Opt.Choice("--log-format", "log lines as text (default) or one JSON object per line", ["text", "json"]),
        Opt.Choice("--metrics-need-token", "whether GET /metrics needs the bearer token (default true)", ["true", "false"])).Runs(Run);

    /// <summary>Options passed to the node as given (NodeLauncher maps each to its configuration key).</summary>
    private static readonly string[] ValueOptions =
    [
        "--data", "--http", "--cache", "--request-timeout", "--batch-size", "--checkpoint-size", "--snapshot-interval",
        "--guest-yield-size", "--nbd", "--nbd-handshake-timeout", "--log-format", "--metrics-need-token", "--journal",
        "--node-name", "--cluster-host", "--cluster-port", "--image-locking",
    ];

    /// <summary>Switches passed to the node as "true" when present.</summary>
    private static readonly string[] SwitchOptions = ["--nbd-allow-remote", "--nbd-read-only"];

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var flags = new List<KeyValuePair<string, string?>>();
        foreach (var option in ValueOptions)
        {
            Add(flags, option, cl.Value(option));
        }

        foreach (var option in SwitchOptions)
        {
            Add(flags, option, cl.Has(option) ? "true" : null);
        }

        foreach (var seed in cl.Values("--seed"))
        {
            Add(flags, "--seed", seed);
        }

        return NodeLauncher.Serve(flags, cl.Values("--storage-root"));
    }

    private static void Add(List<KeyValuePair<string, string?>> flags, string option, string? value)
    {
        if (value is not null)
        {
            flags.Add(new(option, value));
        }
    }
}
