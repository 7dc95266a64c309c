namespace Orchestrator.Qcow2.IO;

/// <summary>
/// Which files an open may reach. The library stays agnostic of where images may live: it asks this policy about
/// every file it is about to open (on the name resolved without opening anything, so a refused file is never touched
/// and its existence is never revealed) and again about the file actually opened (the descriptor's path), so a symlink
/// swapped between the check and the open cannot win.
/// </summary>
public interface IFileConfinement
{
    /// <summary>Null when the file at <paramref name="resolvedPath"/> (absolute, symlinks and '..' resolved) may be opened; otherwise why not.</summary>
    string? Refusal(string resolvedPath);
}
