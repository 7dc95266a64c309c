namespace Orchestrator.Interop.Tests;

/// <summary>An image path spelled as a <see cref="PathMode"/> asks, with the folder to run the command from.</summary>
public sealed record ImageArg(string WorkingDirectory, string Name)
{
    public static ImageArg For(string absolutePath, PathMode mode)
    {
        var dir = Path.GetDirectoryName(absolutePath)!;
        var file = Path.GetFileName(absolutePath);
        return mode switch
        {
            PathMode.Relative => new ImageArg(dir, file),
            PathMode.Nested => new ImageArg(Path.GetDirectoryName(dir)!, Path.Combine(Path.GetFileName(dir), file)),
            _ => new ImageArg("/", absolutePath),
        };
    }
}
