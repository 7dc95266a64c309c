namespace Orchestrator.Node.Tests.Browser;

/// <summary>
/// Where tests keep files for a person to look at afterwards (screenshots): $ORCH_TEST_ARTIFACTS, or artifacts/tests
/// at the repository root (ignored by git), found by walking up to Orchestrator.sln.
/// </summary>
internal static class TestArtifacts
{
    public static string PathFor(string fileName)
    {
        var folder = Environment.GetEnvironmentVariable("ORCH_TEST_ARTIFACTS") ?? Path.Combine(RepositoryRoot(), "artifacts", "tests");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, fileName);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
            {
                return dir.FullName;
            }
        }

        return Path.GetTempPath();
    }
}
