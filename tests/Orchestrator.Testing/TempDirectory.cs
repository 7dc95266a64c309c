namespace Orchestrator.Testing;

/// <summary>
/// A fresh folder under <c>$TMP/orch-tests/</c>, removed on dispose unless
/// <c>ORCH_KEEP_TEST_FILES=1</c> (keep it to inspect images after a failure).
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public const string KeepVariable = "ORCH_KEEP_TEST_FILES";

    public TempDirectory(string prefix = "t")
    {
        var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "orch-tests");
        string candidate;
        do
        {
            // The timestamp makes kept folders easy to match to a test run.
            var name = $"{prefix}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..12]}";
            candidate = System.IO.Path.Combine(root, name);
        }
        while (Directory.Exists(candidate));

        Path = Directory.CreateDirectory(candidate).FullName;
    }

    public string Path { get; }

    public static bool KeepFiles => Environment.GetEnvironmentVariable(KeepVariable) == "1";

    /// <summary>Full path of <paramref name="name"/> inside this folder.</summary>
    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public override string ToString() => Path;

    public void Dispose()
    {
        if (KeepFiles || !Directory.Exists(Path))
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A lingering qemu-nbd may still hold a file; leaking a temp folder beats failing the test.
        }
        catch (UnauthorizedAccessException)
        {
            // Same reasoning as above.
        }
    }
}
