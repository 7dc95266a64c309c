using Orchestrator.Testing;

namespace Orchestrator.Interop.Tests;

/// <summary>Runs our CLI and the QEMU tools as real processes, optionally from a given folder (for relative names).</summary>
public static class Tools
{
    /// <summary>The CLI assembly; the Cli project's output is copied next to the test assembly.</summary>
    public static string OrchestratorDll => DotnetPrograms.NextToTests("orchestrator.dll", "src/Orchestrator.Cli");

    /// <summary><c>dotnet orchestrator.dll args...</c>; the exit code is not checked.</summary>
    public static ProcessResult Orchestrator(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(DotnetPrograms.Host, [OrchestratorDll, .. args], workingDirectory, QemuTools.DefaultTimeout);

    /// <summary>orchestrator-img's assembly (the same code its Native AOT build compiles), copied next to the tests.</summary>
    public static string ImageToolDll => DotnetPrograms.NextToTests("orchestrator-img.dll", "src/Orchestrator.ImageTool");

    /// <summary><c>dotnet orchestrator-img.dll args...</c>; the exit code is not checked.</summary>
    public static ProcessResult ImageTool(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(DotnetPrograms.Host, [ImageToolDll, .. args], workingDirectory, QemuTools.DefaultTimeout);

    /// <summary>qemu-img run from <paramref name="workingDirectory"/>; the exit code is not checked.</summary>
    public static ProcessResult QemuImg(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(QemuTools.QemuImg, args, workingDirectory, QemuTools.DefaultTimeout);

    /// <summary>qemu-io run from <paramref name="workingDirectory"/>; the exit code is not checked.</summary>
    public static ProcessResult QemuIo(string? workingDirectory, params string[] args) =>
        ProcessRunner.Run(QemuTools.QemuIo, args, workingDirectory, QemuTools.DefaultTimeout);
}
