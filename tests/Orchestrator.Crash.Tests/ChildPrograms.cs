namespace Orchestrator.Crash.Tests;

/// <summary>The programs the tests kill: CrashWriter and the orchestrator CLI, copied next to the tests by their project references.</summary>
internal static class ChildPrograms
{
    public static string CrashWriterDll => Require("CrashWriter.dll", "tests/Orchestrator.CrashWriter");

    public static string OrchestratorDll => Require("orchestrator.dll", "src/Orchestrator.Cli");

    public static string Dotnet => Testing.DotnetPrograms.Host;

    private static string Require(string fileName, string project) => Testing.DotnetPrograms.NextToTests(fileName, project);
}
