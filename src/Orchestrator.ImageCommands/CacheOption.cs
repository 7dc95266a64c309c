using Orchestrator.Qcow2.IO;

namespace Orchestrator.ImageCommands;

/// <summary>qemu-img's -t/-T cache arguments: "none" and "directsync" bypass the page cache; the others use it.</summary>
public static class CacheOption
{
    /// <summary>The modes -t/-T accept, offered by shell completion.</summary>
    public static readonly string[] Modes = ["none", "writeback", "writethrough", "directsync", "unsafe"];

    public static CacheMode Parse(string? value, string option) => value switch
    {
        null or "writeback" or "unsafe" or "writethrough" => CacheMode.PageCache,
        "none" or "directsync" => CacheMode.Direct,
        _ => throw new UsageException($"invalid cache mode '{value}' for {option} (none, writeback, writethrough, directsync, unsafe)"),
    };
}
