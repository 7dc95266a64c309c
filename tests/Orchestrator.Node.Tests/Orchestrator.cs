using System.Diagnostics;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The orchestrator program copied next to the tests, run with the same dotnet host as the tests.</summary>
internal static class Orchestrator
{
    public static string Dll => DotnetPrograms.NextToTests("orchestrator.dll", "src/Orchestrator.Cli");

    public static string Dotnet => DotnetPrograms.Host;

    /// <summary>Variables the client would otherwise pick up from the developer's shell; null removes them for the child.</summary>
    public static IReadOnlyDictionary<string, string?> CleanEnvironment(string home) => new Dictionary<string, string?>
    {
        ["ORCHESTRATOR_SERVER"] = null,
        ["ORCHESTRATOR_TOKEN"] = null,
        ["ORCHESTRATOR_DATA"] = null,
        ["ORCHESTRATOR_HTTP"] = null,
        ["ORCHESTRATOR_STORAGEROOTS"] = null,
        ["ORCHESTRATOR_BATCHSIZE"] = null,
        ["ORCHESTRATOR_CHECKPOINTSIZE"] = null,
        ["ORCHESTRATOR_NBD"] = null,
        ["ORCHESTRATOR_NBDALLOWREMOTE"] = null,
        ["XDG_DATA_HOME"] = Path.Combine(home, "xdg"),
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
    };

    /// <summary>Gives a process about to start the <see cref="CleanEnvironment"/> of <paramref name="home"/>.</summary>
    public static void UseCleanEnvironment(ProcessStartInfo start, string home)
    {
        foreach (var (key, value) in CleanEnvironment(home))
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
    }

    /// <summary>Runs `orchestrator ARGS` to completion.</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync(Dotnet, [Dll, .. args], workingDirectory, timeout ?? TimeSpan.FromMinutes(2), environment ?? CleanEnvironment(workingDirectory));
}
