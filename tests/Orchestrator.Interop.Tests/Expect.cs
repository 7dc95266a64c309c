using System.Text;
using Orchestrator.Testing;
using Xunit;

namespace Orchestrator.Interop.Tests;

/// <summary>Assertions whose messages carry the seed tag and enough of the evidence to debug without rerunning.</summary>
public static class Expect
{
    private const int MaxOutputChars = 3000;

    public static ProcessResult Exit(ProcessResult result, int code, string tag)
    {
        Assert.True(result.ExitCode == code, $"{tag}: expected exit code {code}, got {result.ExitCode}{Environment.NewLine}{Describe(result)}");
        return result;
    }

    public static string Describe(ProcessResult result) =>
        $"command: {result.CommandLine}{Environment.NewLine}--- stderr ---{Environment.NewLine}{Tail(result.StdErr)}"
        + $"{Environment.NewLine}--- stdout ---{Environment.NewLine}{Tail(result.StdOut)}";

    /// <summary>Byte-for-byte equality of two qemu-img map JSON texts (trailing newline ignored).</summary>
    public static void SameMapText(string expected, string actual, string tag)
    {
        if (MapTextDifference(expected, actual) is { } difference)
        {
            Assert.Fail($"{tag}: {difference}");
        }
    }

    /// <summary>Null when the texts are equal (trailing newline ignored), else the first different line and extent.</summary>
    public static string? MapTextDifference(string expected, string actual)
    {
        var e = expected.TrimEnd('\n');
        var a = actual.TrimEnd('\n');
        if (string.Equals(e, a, StringComparison.Ordinal))
        {
            return null;
        }

        var message = new StringBuilder("map JSON differs from qemu-img's").AppendLine();
        message.AppendLine(FirstDifferentLine(e, a));
        try
        {
            var semantic = JsonMap.FirstDifference(JsonMap.Parse(e), JsonMap.Parse(a), compareOffsets: true);
            message.Append(semantic ?? "(same extents after coalescing: only the splitting or formatting differs)");
        }
        catch (FormatException ex)
        {
            message.Append($"(not parseable as a map: {ex.Message})");
        }

        return message.ToString();
    }

    /// <summary>Equal byte arrays; on failure names the first differing offset.</summary>
    public static void SameBytes(byte[] expected, byte[] actual, string tag)
    {
        Assert.True(expected.Length == actual.Length, $"{tag}: lengths differ: expected {expected.Length}, actual {actual.Length}");
        var mismatch = expected.AsSpan().CommonPrefixLength(actual);
        if (mismatch < expected.Length)
        {
            var end = mismatch;
            while (end < expected.Length && expected[end] != actual[end])
            {
                end++;
            }

            Assert.Fail($"{tag}: content differs at guest offset {mismatch} (0x{mismatch:x}) for {end - mismatch} byte(s): "
                + $"expected 0x{expected[mismatch]:x2}, actual 0x{actual[mismatch]:x2}");
        }
    }

    private static string FirstDifferentLine(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "(end)";
            var al = i < a.Length ? a[i] : "(end)";
            if (el != al)
            {
                return $"first different line #{i + 1} of {e.Length} (qemu) / {a.Length} (ours):{Environment.NewLine}"
                    + $"  qemu-img: {el}{Environment.NewLine}  ours:     {al}";
            }
        }

        return "(no line differs)";
    }

    private static string Tail(string text) =>
        text.Length == 0 ? "(empty)" : text.Length <= MaxOutputChars ? text : "..." + text[^MaxOutputChars..];
}
