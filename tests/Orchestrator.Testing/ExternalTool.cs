namespace Orchestrator.Testing;

/// <summary>An executable the tests need, located on PATH on first use.</summary>
public sealed class ExternalTool
{
    private readonly Lazy<string?> _resolved;

    public ExternalTool(string name, string debianPackage)
    {
        Name = name;
        DebianPackage = debianPackage;
        _resolved = new Lazy<string?>(() => FindOnPath(name));
    }

    public string Name { get; }

    /// <summary>The Debian package that provides the tool, named in the missing-tool message.</summary>
    public string DebianPackage { get; }

    public bool IsAvailable => _resolved.Value is not null;

    /// <summary>Full path of the executable.</summary>
    /// <exception cref="ToolMissingException">The tool is not on PATH.</exception>
    public string Path => _resolved.Value ?? throw new ToolMissingException(Name, DebianPackage);

    public ProcessResult Run(IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        return ProcessRunner.Run(Path, arguments, workingDirectory, timeout);
    }

    /// <summary>First executable file called <paramref name="name"/> in a PATH directory, or null.</summary>
    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutable(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(file) & anyExecute) != 0;
    }
}
