using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Cli.Demo;
using Orchestrator.Cli.Parsing;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator demo: the main job, live, on one machine with nothing to install (see <see cref="LiveDemo"/>): a node
/// in this process, a guest writing over NBD, a stream with base A and a block copy while it writes, every byte verified.
/// </summary>
public static class DemoCommand
{
    public static Command Build() => new Command("demo",
        "Run the main job live: a node in this process, a guest writing to [A] -> [B] -> [C] -> [D] over NBD, a stream with base A and a block copy while it writes, then every byte verified").With(
        Opt.Value("--dir", "DIR", "folder for the images and the node's data (default: a new folder under the temporary folder)"),
        Opt.Value("--size", "SIZE", "virtual size of the disk (default 1G)"),
        Opt.Choice("-t", "cache mode of the node (default writeback)", CacheOption.Modes),
        Opt.Value("--seed", "N", "seed of the chain's content and the guest's writes (default: random, printed)"),
        Opt.Switch("--keep", "leave the images and the node's data folder in place for inspection")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var size = SizeParser.Parse(cl.Value("--size") ?? "1G", "--size");
        if (size < 4 * 1024 * 1024 || size % (64 * 1024) != 0)
        {
            throw new UsageException($"--size must be a multiple of 64K and at least 4M, not {size} bytes");
        }

        var seedText = cl.Value("--seed") ?? Random.Shared.Next(1, 1_000_000).ToString(CultureInfo.InvariantCulture);
        if (!int.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
        {
            throw new UsageException($"--seed must be a whole number, not '{seedText}'");
        }

        var cache = CacheOption.Parse(cl.Value("-t"), "-t") == CacheMode.Direct ? "none" : "writeback";
        var given = cl.Value("--dir");
        var dir = given ?? Path.Combine(Path.GetTempPath(), $"orchestrator-demo-{Environment.ProcessId}");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw new UsageException($"'{dir}' is not empty; pass another --dir or remove it");
        }

        Directory.CreateDirectory(Path.Combine(dir, "node"));

        // The node inside this process logs warnings only: the demo prints its own account of what happens.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
        var keep = cl.Has("--keep");
        try
        {
            return new LiveDemo(dir, size, seed, cache).RunAsync(CliCancellation.Token).GetAwaiter().GetResult();
        }
        finally
        {
            if (keep)
            {
                Console.WriteLine($"Kept: images in {Path.Combine(dir, "images")}, the node's data in {Path.Combine(dir, "node")}");
            }
            else
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
