using System.CommandLine;
using Orchestrator.ImageCommands.Output;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>
/// orchestrator image stream [-t CACHE] [-T CACHE] [--base BASE] [--backing-file STR] FILE: the offline stream.
/// Copies into FILE what it lacks from the images above BASE, then points FILE at BASE.
/// </summary>
public static class ImageStreamCommand
{
    public static Command Build() => new Command("stream", "The offline stream: copy into FILE what it lacks from the images above BASE, then point FILE at BASE").With(
        Opt.Value("--base", "BASE", "the image that stays below FILE (default: none, FILE becomes standalone)", "-b"),
        Opt.Value("--backing-file", "STR", "the backing file name to write into FILE's header (default: BASE as found)"),
        Opt.Choice("-t", "cache mode of FILE (default writeback)", CacheOption.Modes),
        Opt.Choice("-T", "cache mode of the backing images (default writeback)", CacheOption.Modes),
        Opt.Value("--batch-size", "N", "bytes copied per step (64K..1G, default 64M)"),
        Opt.Value("--checkpoint-size", "N", "bytes copied between persisted checkpoints (at least --batch-size, default 1G)"),
        ImageOptions.Format(),
        Opt.Switch("-q", "quiet: no progress bar and no summary"),
        Opt.Switch("-p", "show progress (the default on a terminal; accepted for qemu-img compatibility)"),
        Opt.Positional("FILE", "the active image of the chain")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(1);
        var file = cl.RequirePositional(0, "image file name");
        var batch = cl.Value("--batch-size") is { } text ? SizeParser.Parse(text, "--batch-size") : 64L * 1024 * 1024;
        if (batch is < 65536 or > 1024L * 1024 * 1024)
        {
            throw new UsageException("--batch-size must be between 64K and 1G");
        }

        var checkpoint = cl.Value("--checkpoint-size") is { } cp ? SizeParser.Parse(cp, "--checkpoint-size") : 1024L * 1024 * 1024;
        if (checkpoint < batch)
        {
            throw new UsageException("--checkpoint-size must be at least --batch-size");
        }

        var options = new OfflineStream.Options
        {
            BasePath = cl.Value("--base", "-b"),
            BackingFileString = cl.Value("--backing-file"),
            TopCache = CacheOption.Parse(cl.Value("-t"), "-t"),
            BackingCache = CacheOption.Parse(cl.Value("-T"), "-T"),
            BatchBytes = (int)batch,
            CheckpointBytes = checkpoint,
        };

        var bar = cl.Has("-q") ? null : new ProgressBar("Streaming");
        var result = OfflineStream.Run(file, options, bar);
        bar?.Complete(result.BytesCopied);
        if (!cl.Has("-q"))
        {
            Console.Error.WriteLine($"Streamed {Bytes.Human(result.BytesCopied)} into '{file}'; backing file is now "
                + (result.NewBackingFile is null ? "none" : $"'{result.NewBackingFile}'"));
        }

        return 0;
    }
}
