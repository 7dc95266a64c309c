using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine.Storage;

/// <summary>The node's security boundary as the qcow2 library asks for it: a file may be opened only if it really lies under a storage root.</summary>
public sealed class StorageConfinement(IReadOnlyList<string> roots) : IFileConfinement
{
    public IReadOnlyList<string> Roots { get; } = roots;

    /// <inheritdoc />
    public string? Refusal(string resolvedPath)
    {
        // The roots are resolved at each check: a root given through a symlink counts as where it leads now.
        foreach (var root in Roots)
        {
            if (PhysicalPath.IsUnder(resolvedPath, PhysicalPath.Resolve(root)))
            {
                return null;
            }
        }

        return $"it lies outside the storage roots ({string.Join(", ", Roots)})";
    }
}
