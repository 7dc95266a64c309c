using Orchestrator.Testing;

namespace Orchestrator.Interop.Tests;

/// <summary>Runs our CLI and the QEMU tools as real processes, optionally from a given folder (for relative names).</summary>
public static class Tools
{
    /// <summary>The CLI assembly; the Cli project's output is copied next to the test assembly.</summary>
    public static string OrchestratorDll { get; } = Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");

    // dotnet test exports the host it runs under; fall back to PATH.
    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary><c>dotnet orchestrator.dll args...</c>; the exit code is not checked.</summary>
    public static ProcessResult Orchestrator(string? workingDirectory, params string[] args)
    {
        if (!File.Exists(OrchestratorDll))
        {
            throw new FileNotFoundException($"the CLI was not copied next to the tests: {OrchestratorDll}");
        }

        return ProcessRunner.Run(DotnetHost, [OrchestratorDll, .. args], workingDirectory, QemuTools.DefaultTimeout);
    }

    /// <summary>qemu-img run from <paramref name="workingDirectory"/>; the exit code is not checked.</summary>
    public static ProcessResult QemuImg(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(QemuTools.QemuImg, args, workingDirectory, QemuTools.DefaultTimeout);

    /// <summary>qemu-io run from <paramref name="workingDirectory"/>; the exit code is not checked.</summary>
    public static ProcessResult QemuIo(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(QemuTools.QemuIo, args, workingDirectory, QemuTools.DefaultTimeout);
}
