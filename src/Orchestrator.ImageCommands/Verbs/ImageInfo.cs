using System.Text.Json;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>What qemu-img info reports about one image, in its key order.</summary>
public sealed record ImageInfo(
    string FileName,
    long VirtualSize,
    int ClusterSize,
    string? BackingFileName,
    string? FullBackingFileName,
    string? BackingFormat,
    bool Dirty,
    bool Corrupt,
    uint Version,
    int RefcountBits,
    bool LazyRefcounts,
    uint SnapshotCount)
{
    public static ImageInfo From(Qcow2Image image, string displayName)
    {
        var h = image.Header;
        return new ImageInfo(displayName, h.Size, h.ClusterSize, h.BackingFileName,
            h.BackingFileName is null ? null : BackingPath.Combine(displayName, h.BackingFileName), h.BackingFormat,
            h.IsDirty, h.IsCorrupt, h.Version, h.RefcountBits, h.HasLazyRefcounts, h.SnapshotCount);
    }

    public string Compat => Version == 2 ? "0.10" : "1.1";

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (BackingFormat is not null)
        {
            w.WriteString("backing-filename-format", BackingFormat);
        }

        w.WriteNumber("virtual-size", VirtualSize);
        w.WriteString("filename", FileName);
        w.WriteNumber("cluster-size", ClusterSize);
        w.WriteString("format", "qcow2");
        w.WriteStartObject("format-specific");
        w.WriteString("type", "qcow2");
        w.WriteStartObject("data");
        w.WriteString("compat", Compat);
        w.WriteString("compression-type", "zlib");
        if (Version >= 3)
        {
            w.WriteBoolean("lazy-refcounts", LazyRefcounts);
        }

        w.WriteNumber("refcount-bits", RefcountBits);
        if (Version >= 3)
        {
            w.WriteBoolean("corrupt", Corrupt);
            w.WriteBoolean("extended-l2", false);
        }

        w.WriteEndObject();
        w.WriteEndObject();
        if (BackingFileName is not null)
        {
            w.WriteString("full-backing-filename", FullBackingFileName);
            w.WriteString("backing-filename", BackingFileName);
        }

        w.WriteBoolean("dirty-flag", Dirty);
        w.WriteEndObject();
    }

    public string ToHuman()
    {
        var lines = new List<string>
        {
            $"image: {FileName}",
            "file format: qcow2",
            $"virtual size: {Output.Bytes.Human(VirtualSize)} ({VirtualSize} bytes)",
            $"cluster_size: {ClusterSize}",
        };
        if (BackingFileName is not null)
        {
            lines.Add($"backing file: {BackingFileName}" + (FullBackingFileName != BackingFileName ? $" (actual path: {FullBackingFileName})" : ""));
            lines.Add($"backing file format: {BackingFormat ?? "(probed)"}");
        }

        if (SnapshotCount > 0)
        {
            lines.Add($"internal snapshots: {SnapshotCount}");
        }

        lines.Add("Format specific information:");
        lines.Add($"    compat: {Compat}");
        lines.Add($"    refcount bits: {RefcountBits}");
        if (Version >= 3)
        {
            lines.Add($"    lazy refcounts: {LazyRefcounts.ToString().ToLowerInvariant()}");
            lines.Add($"    corrupt: {Corrupt.ToString().ToLowerInvariant()}");
        }

        return string.Join('\n', lines);
    }
}
