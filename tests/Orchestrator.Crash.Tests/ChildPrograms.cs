namespace Orchestrator.Crash.Tests;

/// <summary>The programs the tests kill: CrashWriter and the orchestrator CLI, copied next to the tests by their project references.</summary>
internal static class ChildPrograms
{
    public static string CrashWriterDll => Require("CrashWriter.dll", "tests/Orchestrator.CrashWriter");

    public static string OrchestratorDll => Require("orchestrator.dll", "src/Orchestrator.Cli");

    /// <summary>The dotnet host that runs this test process (the SDK exports it as DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    public static string Dotnet
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                return self;
            }

            return Testing.ExternalTool.FindOnPath("dotnet")
                ?? throw new InvalidOperationException("cannot find the dotnet host: DOTNET_HOST_PATH is not set and dotnet is not on PATH");
        }
    }

    private static string Require(string fileName, string project)
    {
        var path = Path.Combine(AppContext.BaseDirectory, fileName);
        var runtimeConfig = Path.ChangeExtension(path, ".runtimeconfig.json");
        if (!File.Exists(path) || !File.Exists(runtimeConfig))
        {
            throw new InvalidOperationException(
                $"{fileName} (and its runtimeconfig.json) is not next to the tests in {AppContext.BaseDirectory}: "
                + $"build {project} before this project (the project reference copies it; with --no-dependencies build it first)");
        }

        return path;
    }
}
