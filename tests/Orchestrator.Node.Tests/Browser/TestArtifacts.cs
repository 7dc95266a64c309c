namespace Orchestrator.Node.Tests.Browser;

/// <summary>
/// Where tests keep files for a person to look at afterwards (screenshots): $ORCH_TEST_ARTIFACTS, or artifacts/tests
/// at the repository root (ignored by git), found by walking up to Orchestrator.sln.
/// </summary>
internal static class TestArtifacts
{
    public static string PathFor(string fileName)
    {
        var folder = Environment.GetEnvironmentVariable("ORCH_TEST_ARTIFACTS") ?? Path.Combine(RepositoryFolder.Root, "artifacts", "tests");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, fileName);
    }
}
