using Orchestrator.Qcow2;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator image rebase -u -b NEW [-F qcow2] FILE: rewrites the backing file name in the header only.</summary>
public static class ImageRebaseCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = new CommandLine(args, ["-b", "-F", "-f"], ["-u"]);
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
