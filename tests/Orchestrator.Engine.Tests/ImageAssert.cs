using System.Text.Json;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Engine.Tests;

/// <summary>Checks on the real files with QEMU's own tools, so the engine is never judged by its own reader.</summary>
internal static class ImageAssert
{
    /// <summary>The guest view of <paramref name="top"/> as a raw file (qemu-img convert), for a later compare.</summary>
    public static string CaptureRaw(string top, string rawPath)
    {
        QemuTools.ConvertToRaw(top, rawPath);
        return rawPath;
    }

    public static void CheckClean(string path)
    {
        var result = QemuTools.Check(path);
        Assert.True(result.ExitCode == 0, $"qemu-img check {Path.GetFileName(path)} exited {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
    }

    public static void SameGuestView(string qcow2, string raw)
    {
        var result = QemuTools.Compare(qcow2, raw, "qcow2", "raw");
        Assert.True(result.ExitCode == 0, $"qemu-img compare {Path.GetFileName(qcow2)} vs {Path.GetFileName(raw)} exited {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
    }

    /// <summary>The backing file name written in the header, or null (qemu-img info).</summary>
    public static string? BackingFileOf(string path)
    {
        using var doc = JsonDocument.Parse(QemuTools.InfoJson(path, backingChain: false));
        return doc.RootElement.TryGetProperty("backing-filename", out var backing) ? backing.GetString() : null;
    }

    /// <summary>Guest ranges whose data comes from an image at depth below <paramref name="depthBelow"/> (0 = the top itself), merged.</summary>
    public static IReadOnlyList<(long Start, long End)> RangesAbove(string top, int depthBelow)
    {
        var ranges = new List<(long Start, long End)>();
        foreach (var e in JsonMap.Parse(QemuTools.Map(top)))
        {
            if (!(e.Present || e.Data) || e.Depth >= depthBelow)
            {
                continue;
            }

            if (ranges.Count > 0 && ranges[^1].End == e.Start)
            {
                ranges[^1] = (ranges[^1].Start, e.End);
            }
            else
            {
                ranges.Add((e.Start, e.End));
            }
        }

        return ranges;
    }

    /// <summary>A guest range the top lacks and the image at <paramref name="depth"/> provides: (guest offset, host offset in that file).</summary>
    public static (long Guest, long Host) FirstDataAtDepth(string top, int depth, long atOrAfter)
    {
        var extent = JsonMap.Parse(QemuTools.Map(top)).First(e => e.Depth == depth && e.Data && e.Offset is not null && e.Start >= atOrAfter);
        return (extent.Start, extent.Offset!.Value);
    }
}
