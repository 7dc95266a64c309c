using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The orchestrator program copied next to the tests, run with the same dotnet host as the tests.</summary>
internal static class Orchestrator
{
    public static string Dll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");
            if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
            {
                throw new InvalidOperationException($"orchestrator.dll (and its runtimeconfig.json) is not next to the tests in {AppContext.BaseDirectory}: build src/Orchestrator.Cli first");
            }

            return path;
        }
    }

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

            return ExternalTool.FindOnPath("dotnet") ?? throw new InvalidOperationException("cannot find the dotnet host");
        }
    }

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

    /// <summary>Runs `orchestrator ARGS` to completion.</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync(Dotnet, [Dll, .. args], workingDirectory, timeout ?? TimeSpan.FromMinutes(2), environment ?? CleanEnvironment(workingDirectory));
}
