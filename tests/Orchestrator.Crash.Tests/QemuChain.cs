using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Crash.Tests;

/// <summary>What qemu-img (the reference) says about an image after a crash.</summary>
internal static class QemuChain
{
    /// <summary>File names of the backing chain, top first, as qemu-img info --backing-chain opens it.</summary>
    public static IReadOnlyList<string> Names(string top)
    {
        using var json = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: true));
        return json.RootElement.EnumerateArray()
            .Select(e => Path.GetFileName(e.GetProperty("filename").GetString() ?? string.Empty))
            .ToList();
    }

    public static string Describe(IEnumerable<string> names) => string.Join(" -> ", names);

    /// <summary>qemu-img check with its whole output, for assertion messages.</summary>
    public static (int ExitCode, string Output) Check(string path)
    {
        var result = QemuTools.Check(path);
        return (result.ExitCode, $"$ {result.CommandLine} (exit {result.ExitCode})\n{Trim(result.StdOut + result.StdErr)}");
    }

    /// <summary>qemu-img check's untrimmed output (every leaked cluster), for <see cref="LeakHint"/>.</summary>
    public static string CheckFullOutput(string path)
    {
        var result = QemuTools.Check(path);
        return result.StdOut + result.StdErr;
    }

    /// <summary>qemu-img compare of a qcow2 chain against a raw file: exit 0 identical, 1 different.</summary>
    public static (int ExitCode, string Output) CompareWithRaw(string top, string raw)
    {
        var result = QemuTools.Compare(top, raw, "qcow2", "raw");
        return (result.ExitCode, $"$ {result.CommandLine} (exit {result.ExitCode})\n{Trim(result.StdOut + result.StdErr)}");
    }

    /// <summary>
    /// A hint for a leak report: whether every leaked cluster lies at or past <paramref name="endCluster"/>, the end of
    /// the file as the kill left it (clusters counted before the data that would have extended the file was written).
    /// </summary>
    public static string LeakHint(string checkOutput, long endCluster)
    {
        var leaked = checkOutput.Split('\n')
            .Where(l => l.StartsWith("Leaked cluster ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        if (leaked.Count == 0)
        {
            return string.Empty;
        }

        return leaked.All(c => c >= endCluster)
            ? $" [all {leaked.Count} leaked cluster(s) are at or past cluster {endCluster}, the end of the file the kill left: "
                + "counted past the end of the file and not given back by the repair; see CrashStateTests.LeakPastEndOfFileIsRepairedByWritableOpen]"
            : $" [leaked clusters {string.Join(", ", leaked.Take(8))}{(leaked.Count > 8 ? ", ..." : string.Empty)}; the kill left the file at cluster {endCluster}]";
    }

    // qemu-img check lists every leaked cluster; the head and the tail say enough.
    private static string Trim(string text)
    {
        var lines = text.Split('\n');
        return lines.Length <= 40 ? text : string.Join('\n', lines.Take(25).Append($"... ({lines.Length - 35} lines) ...").Concat(lines.TakeLast(10)));
    }
}
