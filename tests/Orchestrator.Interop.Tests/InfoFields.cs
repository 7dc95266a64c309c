using System.Text.Json;

namespace Orchestrator.Interop.Tests;

/// <summary>The qemu-img info JSON keys we promise to reproduce, flattened to "key = value" lines for comparison.</summary>
public static class InfoFields
{
    private static readonly string[] _topKeys =
    [
        "filename", "format", "virtual-size", "cluster-size", "backing-filename", "backing-filename-format",
        "full-backing-filename", "dirty-flag",
    ];

    // lazy-refcounts and corrupt exist only for version 3; a missing key is kept missing, not defaulted.
    private static readonly string[] _dataKeys = ["compat", "refcount-bits", "lazy-refcounts", "corrupt"];

    /// <summary>One list of fields per image: the array elements with --backing-chain, else the single object.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var objects = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        return objects.Select(Fields).ToList();
    }

    /// <summary>Null when both outputs have the same fields for the same images, else the first difference.</summary>
    public static string? Difference(string qemuJson, string ourJson)
    {
        IReadOnlyList<IReadOnlyList<string>> ours;
        try
        {
            ours = Parse(ourJson);
        }
        catch (JsonException e)
        {
            return $"our output is not JSON ({e.Message}): {ourJson}";
        }

        var qemu = Parse(qemuJson);
        using (var qemuDoc = JsonDocument.Parse(qemuJson))
        using (var ourDoc = JsonDocument.Parse(ourJson))
        {
            if (qemuDoc.RootElement.ValueKind != ourDoc.RootElement.ValueKind)
            {
                return $"qemu-img printed a JSON {qemuDoc.RootElement.ValueKind}, we printed a {ourDoc.RootElement.ValueKind}";
            }
        }

        if (qemu.Count != ours.Count)
        {
            return $"qemu-img lists {qemu.Count} image(s), we list {ours.Count}";
        }

        for (var i = 0; i < qemu.Count; i++)
        {
            var missing = qemu[i].Except(ours[i]).ToList();
            var extra = ours[i].Except(qemu[i]).ToList();
            if (missing.Count > 0 || extra.Count > 0)
            {
                return $"image #{i} of the chain: qemu-img has [{string.Join("; ", missing)}] where we have [{string.Join("; ", extra)}]"
                    + $"{Environment.NewLine}  qemu-img: {string.Join("; ", qemu[i])}{Environment.NewLine}  ours:     {string.Join("; ", ours[i])}";
            }
        }

        return null;
    }

    private static IReadOnlyList<string> Fields(JsonElement image)
    {
        var fields = new List<string>();
        foreach (var key in _topKeys)
        {
            if (image.TryGetProperty(key, out var value))
            {
                fields.Add($"{key} = {Render(value)}");
            }
        }

        if (image.TryGetProperty("format-specific", out var specific) && specific.TryGetProperty("data", out var data))
        {
            foreach (var key in _dataKeys)
            {
                if (data.TryGetProperty(key, out var value))
                {
                    fields.Add($"format-specific.data.{key} = {Render(value)}");
                }
            }
        }

        return fields;
    }

    // Strings compared unescaped: JSON writers may escape different characters.
    private static string Render(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{value.GetString()}\"",
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => value.GetRawText(),
        _ => $"({value.ValueKind}) {value.GetRawText()}",
    };
}
