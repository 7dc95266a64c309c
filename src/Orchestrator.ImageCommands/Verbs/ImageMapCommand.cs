using System.CommandLine;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Map;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>orchestrator image map [--output json] [-U] FILE: the same ranges and fields as qemu-img map --output=json.</summary>
public static class ImageMapCommand
{
    public static Command Build() => new Command("map", "Show where the guest's data lives in the chain, as qemu-img map --output=json").With(
        Opt.Choice("--output", "output format (only json, the default)", ["json"]),
        ImageOptions.Format(),
        ImageOptions.ForceShare(),
        Opt.Positional("FILE", "the active image of the chain")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(1);
        var file = cl.RequirePositional(0, "image file name");
        var output = cl.Value("--output") ?? "json";
        if (output != "json")
        {
            throw new UsageException($"--output must be json (the human format is not implemented), not '{output}'");
        }

        using var chain = ImageChain.Open(file, new ChainOpenOptions { Locking = !cl.Has("-U") });
        Console.WriteLine(ChainMapper.ToQemuJson(ChainMapper.Map(chain)));
        return 0;
    }
}
