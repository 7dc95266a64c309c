using System.CommandLine;
using Orchestrator.ImageCommands.Parsing;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>The options several image verbs declare alike, in qemu-img's spelling.</summary>
public static class ImageOptions
{
    /// <summary>-f qcow2: accepted for qemu-img compatibility; qcow2 is the only format.</summary>
    public static Option<string[]> Format() => Opt.Value("-f", "qcow2", "image format (only qcow2)");

    /// <summary>-U / --force-share: open without taking the image's lock, as qemu-img -U.</summary>
    public static Option<bool> ForceShare() =>
        Opt.Switch("-U", "force-share: read an image another process (a running node, QEMU) holds locked, as qemu-img -U; at the reader's risk", "--force-share");
}
