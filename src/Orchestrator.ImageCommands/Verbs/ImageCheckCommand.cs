using System.CommandLine;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Check;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>orchestrator image check [-r leaks] [-U] FILE: exit 0 clean, 2 corruption, 3 leaks only (as qemu-img check).</summary>
public static class ImageCheckCommand
{
    public static Command Build() => new Command("check", "Check an image's metadata, as qemu-img check: exit 0 clean, 2 corruption, 3 leaks only").With(
        Opt.Choice("-r", "repair: only leaks (corruptions are never repaired automatically)", ["leaks"]),
        ImageOptions.Format(),
        ImageOptions.ForceShare(),
        Opt.Positional("FILE", "the image")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(1);
        var file = cl.RequirePositional(0, "image file name");
        var repair = cl.Value("-r");
        if (repair is not (null or "leaks"))
        {
            throw new UsageException($"-r {repair} is not supported (only -r leaks: corruptions are never repaired automatically)");
        }

        var forceShare = cl.Has("-U");
        if (forceShare && repair is not null)
        {
            // As qemu-img: a repair writes, and writing an image someone else holds is what the locks prevent.
            throw new UsageException("-U (force-share) can only be used without -r: a repair writes the image");
        }

        var options = repair is null ? ImageOpenOptions.ReadOnly() with { Locking = !forceShare } : ImageOpenOptions.ReadWrite() with { CheckOnWritableOpen = false };
        using var image = Qcow2Image.Open(file, options);
        var result = ImageChecker.Check(image, repairLeaks: repair is not null);
        foreach (var message in result.Messages)
        {
            Console.WriteLine(message);
        }

        if (result.Corruptions == 0 && result.Leaks == result.LeaksFixed)
        {
            Console.WriteLine("No errors were found on the image.");
        }
        else
        {
            Console.WriteLine($"{result.Corruptions} errors were found on the image.");
            Console.WriteLine($"{result.Leaks - result.LeaksFixed} leaked clusters were found on the image.");
        }

        Console.WriteLine($"{result.AllocatedClusters}/{result.TotalClusters} clusters are allocated (host clusters referenced / guest clusters).");
        Console.WriteLine($"Image end offset: {result.ImageEndOffset}");
        return result.ExitCode;
    }
}
