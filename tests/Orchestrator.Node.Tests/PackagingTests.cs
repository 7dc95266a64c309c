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
