namespace Orchestrator.Testing;

/// <summary>Programs the tests run as child processes: assemblies copied next to the tests, run by the tests' own dotnet host.</summary>
public static class DotnetPrograms
{
    /// <summary>The dotnet host that runs this test process (the SDK exports it as DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    public static string Host
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

            return ExternalTool.FindOnPath("dotnet")
                ?? throw new InvalidOperationException("cannot find the dotnet host: DOTNET_HOST_PATH is not set and dotnet is not on PATH");
        }
    }

    /// <summary>The path of <paramref name="fileName"/> next to the tests, which <paramref name="project"/>'s reference copies there.</summary>
    public static string NextToTests(string fileName, string project)
    {
        var path = Path.Combine(AppContext.BaseDirectory, fileName);
        if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
        {
            throw new InvalidOperationException(
                $"{fileName} (and its runtimeconfig.json) is not next to the tests in {AppContext.BaseDirectory}: "
                + $"build {project} before this project (the project reference copies it; with --no-dependencies build it first)");
        }

        return path;
    }
}
