using Orchestrator.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Orchestrator.Interop.Tests;

/// <summary>
/// Client and image verbs load only what they need: never the node's assemblies (ASP.NET Core, Akka, SQLite, the
/// engine). The CLI lists what it loaded when ORCHESTRATOR_TRACE_ASSEMBLIES=1.
/// </summary>
public sealed class CliAssemblyLoadTests(ITestOutputHelper output)
{
    private static readonly string[] _forbidden =
        ["Akka", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "SQLitePCLRaw", "linq2db", "Orchestrator.Node", "Orchestrator.Engine", "Orchestrator.Domain", "Orchestrator.Nbd"];

    [Fact]
    public void ImageInfo_LoadsNoNodeAssembly()
    {
        using var temp = new TempDirectory("cli-load-info");
        QemuTools.Create(temp.Combine("a.qcow2"), 1024 * 1024);
        var loaded = Loaded(temp.Path, 0, "image", "info", "--output", "json", "a.qcow2");
        Assert.Contains("Orchestrator.Qcow2", loaded);
    }

    [Fact]
    public void DiskList_AgainstNoNode_LoadsNoNodeAssembly()
    {
        using var temp = new TempDirectory("cli-load-client");
        File.WriteAllText(temp.Combine("token"), "not-a-real-token\n");
        var loaded = Loaded(temp.Path, 1, "disk", "list", "--server", "http://127.0.0.1:1", "--token-file", temp.Combine("token"));
        Assert.Contains("Orchestrator.Contracts", loaded);
    }

    [Fact]
    public void Version_LoadsNoNodeAssembly() => Loaded(null, 0, "--version");

    private List<string> Loaded(string? workingDirectory, int exitCode, params string[] args)
    {
        var environment = new Dictionary<string, string?> { ["ORCHESTRATOR_TRACE_ASSEMBLIES"] = "1" };
        var result = ProcessRunner.Run(DotnetPrograms.Host, [Tools.OrchestratorDll, .. args], workingDirectory, QemuTools.DefaultTimeout, environment);
        Expect.Exit(result, exitCode, string.Join(' ', args));
        var loaded = result.StdErr.Split('\n')
            .Where(l => l.StartsWith("assembly: ", StringComparison.Ordinal))
            .Select(l => l["assembly: ".Length..].Trim())
            .ToList();
        output.WriteLine($"{string.Join(' ', args)}: {string.Join(", ", loaded)}");
        Assert.True(loaded.Count > 0, $"the CLI listed no assemblies: {Expect.Describe(result)}");
        foreach (var name in loaded)
        {
            Assert.False(_forbidden.Any(f => name.StartsWith(f, StringComparison.Ordinal)), $"{string.Join(' ', args)} loaded {name}: {string.Join(", ", loaded)}");
        }

        return loaded;
    }
}
