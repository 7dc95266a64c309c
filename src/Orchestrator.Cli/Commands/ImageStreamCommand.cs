using Orchestrator.Cli.Output;
using Orchestrator.Qcow2.Stream;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator image stream [-t CACHE] [-T CACHE] [--base BASE] [--backing-file STR] FILE: the offline stream.
/// Copies into FILE what it lacks from the images above BASE, then points FILE at BASE.
/// </summary>
public static class ImageStreamCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = new CommandLine(args, ["--base", "-b", "--backing-file", "-t", "-T", "--batch-size", "--checkpoint-size", "-f"], ["-q", "-p"]);
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
