using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Testing;

/// <summary>Parses and compares <c>qemu-img map --output=json</c> output.</summary>
public static class JsonMap
{
    /// <summary>Parses the JSON array; unknown keys (e.g. "compressed" in newer QEMU) are ignored.</summary>
    /// <exception cref="FormatException">The text is not a qemu-img map JSON array.</exception>
    public static IReadOnlyList<MapExtent> Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"qemu-img map JSON must be an array, got {doc.RootElement.ValueKind}");
            }

            var extents = new List<MapExtent>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                extents.Add(new MapExtent(
                    e.GetProperty("start").GetInt64(),
                    e.GetProperty("length").GetInt64(),
                    e.GetProperty("depth").GetInt32(),
                    e.GetProperty("present").GetBoolean(),
                    e.GetProperty("zero").GetBoolean(),
                    e.GetProperty("data").GetBoolean(),
                    e.TryGetProperty("offset", out var offset) ? offset.GetInt64() : null));
            }

            return extents;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"Not qemu-img map JSON ({e.Message}): {Truncate(json)}", e);
        }
    }

    /// <summary>
    /// Clears "zero" on extents that are also "data". On those, qemu-img reports zero where the image file has a hole
    /// (lseek SEEK_DATA), and on ext4 an unwritten extent stops being a hole once its pages are in the page cache: any
    /// buffered read near it (readahead of a nearby table) flips the flag although no byte of the file changed. Use it
    /// to compare maps of the same image taken at different times.
    /// </summary>
    public static IReadOnlyList<MapExtent> WithoutHostHoleHints(IEnumerable<MapExtent> extents) =>
        extents.Select(e => e.Data && e.Zero ? e with { Zero = false } : e).ToList();

    /// <summary>
    /// Merges neighbours with equal flags so maps that only split extents differently compare equal.
    /// Without <paramref name="keepOffsets"/>, host offsets are dropped (they legitimately differ between writers).
    /// </summary>
    public static IReadOnlyList<MapExtent> Coalesce(IEnumerable<MapExtent> extents, bool keepOffsets)
    {
        var result = new List<MapExtent>();
        foreach (var raw in extents)
        {
            var next = keepOffsets ? raw : raw with { Offset = null };
            if (result.Count > 0 && CanMerge(result[^1], next))
            {
                result[^1] = result[^1] with { Length = result[^1].Length + next.Length };
            }
            else
            {
                result.Add(next);
            }
        }

        return result;
    }

    /// <summary>
    /// Null when the maps match, otherwise a readable description of the first difference.
    /// Both maps are coalesced first; host offsets are compared only if <paramref name="compareOffsets"/>.
    /// </summary>
    public static string? FirstDifference(
        IReadOnlyList<MapExtent> expected,
        IReadOnlyList<MapExtent> actual,
        bool compareOffsets = false)
    {
        var exp = Coalesce(expected, compareOffsets);
        var act = Coalesce(actual, compareOffsets);
        var count = Math.Max(exp.Count, act.Count);
        for (var i = 0; i < count; i++)
        {
            var e = i < exp.Count ? exp[i] : null;
            var a = i < act.Count ? act[i] : null;
            if (e == a)
            {
                continue;
            }

            var at = Math.Min(e?.Start ?? long.MaxValue, a?.Start ?? long.MaxValue);
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"maps differ at extent #{i} (guest offset {at}, 0x{at:x}); ");
            text.Append(CultureInfo.InvariantCulture, $"expected {exp.Count} extents, actual {act.Count}").AppendLine();
            if (i > 0)
            {
                text.Append("  both:     ").Append(exp[i - 1]).AppendLine();
            }

            text.Append("  expected: ").Append(e?.ToString() ?? "(no more extents)").AppendLine();
            text.Append("  actual:   ").Append(a?.ToString() ?? "(no more extents)");
            return text.ToString();
        }

        return null;
    }

    private static bool CanMerge(MapExtent left, MapExtent right)
    {
        if (left.End != right.Start || left.Depth != right.Depth || left.Present != right.Present
            || left.Zero != right.Zero || left.Data != right.Data)
        {
            return false;
        }

        return (left.Offset, right.Offset) switch
        {
            (null, null) => true,
            ({ } l, { } r) => l + left.Length == r,
            _ => false,
        };
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "...";
}
