using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The files an operator installs (packaging/): the systemd unit verifies, the sample configuration is valid.</summary>
public sealed class PackagingTests
{
    private static readonly ExternalTool _systemdAnalyze = new("systemd-analyze", "systemd");

    [Fact]
    public void Systemd_unit_passes_systemd_analyze_verify_without_a_warning()
    {
        using var folder = new TempDirectory("unit");
        var unit = File.ReadAllText(Path.Combine(RepositoryFolder.Root, "packaging", "orchestrator.service"));
        Assert.Contains("Type=notify", unit, StringComparison.Ordinal);

        // systemd checks that ExecStart's program exists; point it at a real executable of this machine.
        var installed = "/opt/orchestrator/orchestrator";
        Assert.Contains($"ExecStart={installed} serve", unit, StringComparison.Ordinal);
        var path = Path.Combine(folder.Path, "orchestrator.service");
        File.WriteAllText(path, unit.Replace(installed, Environment.ProcessPath!, StringComparison.Ordinal));

        var result = _systemdAnalyze.Run(["verify", path]);
        Assert.True(result.ExitCode == 0 && result.StdErr.Trim().Length == 0,
            $"systemd-analyze verify: exit {result.ExitCode}\n{result.StdErr}{result.StdOut}");
    }

    [Fact]
    public void Dockerfile_builds_with_the_publish_recipe_and_runs_its_self_contained_output()
    {
        var script = BuildRecipe.LogicalLines(File.ReadAllText(Path.Combine(RepositoryFolder.Root, "packaging", "publish.sh")));
        var dockerfile = BuildRecipe.LogicalLines(File.ReadAllText(Path.Combine(RepositoryFolder.Root, "cluster-config", "docker", "Dockerfile")));

        // The recipe: one self-contained publish of the CLI (the node is in it) into $out for $runtime, and beside it
        // orchestrator-img (Native AOT, self-contained by nature) for the same runtime into the same folder.
        var publishes = script.Where(l => l.StartsWith("dotnet publish ", StringComparison.Ordinal)).Select(BuildRecipe.Words).ToList();
        Assert.Equal(2, publishes.Count);
        var publish = Assert.Single(publishes, p => p[2] == "src/Orchestrator.Cli");
        Assert.Equal("true", After(publish, "--self-contained"));
        Assert.Equal("$out", After(publish, "-o"));
        Assert.Equal("$runtime", After(publish, "-r"));
        var imageTool = Assert.Single(publishes, p => p[2] == "src/Orchestrator.ImageTool");
        Assert.Equal("$out", After(imageTool, "-o"));
        Assert.Equal("$runtime", After(imageTool, "-r"));

        // The image's build stage runs that script, and no publish of its own that could drift from it.
        var stages = Stages(dockerfile);
        Assert.Equal(2, stages.Count);
        var (buildFrom, build) = stages[0];
        Assert.Contains(" AS build", buildFrom, StringComparison.Ordinal);
        Assert.DoesNotContain(dockerfile, l => l.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains(build, l => l.Contains("apt-get install", StringComparison.Ordinal) && l.Contains(" clang ", StringComparison.Ordinal)
            && l.Contains(" zlib1g-dev ", StringComparison.Ordinal));
        var run = BuildRecipe.Words(Assert.Single(build, l => l.Contains("packaging/publish.sh", StringComparison.Ordinal)));
        Assert.Equal(["RUN", "bash", "packaging/publish.sh"], run.Take(3));
        var output = run[3];
        var runtime = run[4];

        // The same runtime by default: the ARG the Dockerfile passes defaults to the script's own default.
        var defaultRuntime = BuildRecipe.ScriptDefault(script, "runtime");
        Assert.Equal("$RUNTIME", runtime);
        Assert.Contains($"ARG RUNTIME={defaultRuntime}", build);

        // The final stage takes that whole folder and starts its apphost (self-contained: no `dotnet` in the image).
        var (finalFrom, final) = stages[1];
        Assert.Contains("dotnet/runtime-deps:", finalFrom, StringComparison.Ordinal);
        Assert.Contains($"COPY --from=build {output} {output}", final);
        var assembly = System.Xml.Linq.XDocument.Load(Path.Combine(RepositoryFolder.Root, "src", "Orchestrator.Cli", "Orchestrator.Cli.csproj"))
            .Descendants("AssemblyName").Single().Value;
        Assert.Contains($"ENTRYPOINT [\"{output}/{assembly}\"]", final);
    }

    /// <summary>Each FROM line with the lines of its stage.</summary>
    private static List<(string From, List<string> Lines)> Stages(IReadOnlyList<string> dockerfile)
    {
        var stages = new List<(string From, List<string> Lines)>();
        foreach (var line in dockerfile)
        {
            if (line.StartsWith("FROM ", StringComparison.Ordinal))
            {
                stages.Add((line, []));
            }
            else
            {
                Assert.True(stages.Count > 0, $"a Dockerfile line before FROM: {line}");
                stages[^1].Lines.Add(line);
            }
        }

        return stages;
    }

    private static string After(IReadOnlyList<string> words, string option)
    {
        var index = words.ToList().IndexOf(option);
        Assert.True(index >= 0 && index + 1 < words.Count, $"no {option} in: {string.Join(' ', words)}");
        return words[index + 1];
    }

    [Fact]
    public void Sample_configuration_is_accepted_by_the_node_as_written()
    {
        using var folder = new TempDirectory("sample-config");
        File.Copy(Path.Combine(RepositoryFolder.Root, "packaging", "appsettings.sample.json"), Path.Combine(folder.Path, "appsettings.json"));

        // Only the two paths that must exist on the machine are replaced; every other value is the sample's.
        var roots = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var configuration = NodeConfiguration.Build([new("StorageRoots:0", roots), new("Data", Path.Combine(folder.Path, "data"))], folder.Path);
        var options = NodeOptions.FromConfiguration(configuration);

        Assert.Equal(Qcow2.IO.CacheMode.Direct, options.Cache);
        Assert.Equal(128 * 1024, options.GuestYieldBytes);
        Assert.Equal("127.0.0.1:10809", options.NbdTcp?.ToString());
        Assert.True(options.Observability.MetricsNeedToken);
        Assert.False(options.Observability.JsonLogs);
    }
}
