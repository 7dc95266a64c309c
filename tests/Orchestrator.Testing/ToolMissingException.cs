namespace Orchestrator.Testing;

/// <summary>
/// A required external tool is absent. Thrown (never turned into a skip) so that a
/// machine without the tools fails loudly instead of silently testing nothing.
/// </summary>
public sealed class ToolMissingException : Exception
{
    public ToolMissingException(string toolName, string debianPackage)
        : base($"{toolName} is required by this test but was not found on PATH: "
            + $"install Debian package {debianPackage} (tests/run.sh installs it)")
    {
        ToolName = toolName;
        DebianPackage = debianPackage;
    }

    public string ToolName { get; }

    public string DebianPackage { get; }
}
