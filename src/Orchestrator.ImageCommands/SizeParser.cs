using System.Globalization;

namespace Orchestrator.ImageCommands;

/// <summary>Sizes as qemu-img reads them: a number with an optional binary suffix (k, M, G, T, P, E; b for bytes).</summary>
public static class SizeParser
{
    public static long Parse(string text, string what)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw new UsageException($"{what} is empty");
        }

        var suffix = char.ToUpperInvariant(trimmed[^1]);
        var shift = suffix switch { 'B' => 0, 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, 'P' => 50, 'E' => 60, _ => -1 };
        var number = shift >= 0 ? trimmed[..^1] : trimmed;
        shift = Math.Max(shift, 0);
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            throw new UsageException($"{what} '{text}' is not a size (examples: 1048576, 512M, 4G)");
        }

        var bytes = value * (1L << shift);
        if (bytes > long.MaxValue || bytes != decimal.Truncate(bytes))
        {
            throw new UsageException($"{what} '{text}' is out of range");
        }

        return (long)bytes;
    }
}
