using System.CommandLine;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.Qcow2;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>orchestrator image rebase -u -b NEW [-F qcow2] FILE: rewrites the backing file name in the header only.</summary>
public static class ImageRebaseCommand
{
    public static Command Build() => new Command("rebase", "Rewrite the backing file name in the header only (unsafe rebase, as qemu-img rebase -u)").With(
        Opt.Switch("-u", "unsafe: header only (required; to merge data use image stream)"),
        Opt.Value("-b", "NEW", "the new backing file (\"\" for none)"),
        Opt.Value("-F", "qcow2", "backing file format (only qcow2)"),
        ImageOptions.Format(),
        Opt.Positional("FILE", "the image whose header changes")).Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(1);
        var file = cl.RequirePositional(0, "image file name");
        if (!cl.Has("-u"))
        {
            throw new UsageException("only unsafe rebase (-u, header only) is supported here; to merge data use 'orchestrator image stream'");
        }

        var backing = cl.Value("-b");
        if (backing == "")
        {
            backing = null;
        }

        var format = cl.Value("-F") ?? (backing is null ? null : "qcow2");
        if (format is not (null or "qcow2"))
        {
            throw new UsageException($"backing format '{format}' is not supported (only qcow2)");
        }

        using var image = Qcow2Image.Open(file, ImageOpenOptions.ReadWrite());
        image.SetBackingFile(backing, format);
        return 0;
    }
}
