using Orchestrator.Domain;
using Orchestrator.Domain.Jobs;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Engine.Storage;

/// <summary>
/// A stream's backing-file string is written into the top image's header as given (as QEMU does), so it must name the
/// base's own file: resolved from the top image's folder as QEMU resolves it, inside the storage roots, and the same
/// device and inode as the base. Otherwise the disk would back onto another file (or none) after the commit.
/// </summary>
public static class BackingFileRule
{
    /// <summary>The refusal for <paramref name="job"/>'s backing-file string, or null when it has none or it names the base.</summary>
    public static DomainError? Check(Job job, IFileConfinement confinement) =>
        job.BackingFileString is null || job.BasePath is null
            ? null
            : Check(job.BackingFileString, job.TopPath, job.BasePath, path => confinement.Refusal(PhysicalPath.Resolve(path)), IdentityOrNull);

    /// <summary>
    /// The rule itself, with the file system reached only through <paramref name="refusalOf"/> (the confinement of a
    /// path) and <paramref name="identityOf"/> (device and inode, null when there is no such file).
    /// </summary>
    public static DomainError? Check(string backingFile, string topPath, string basePath,
        Func<string, string?> refusalOf, Func<string, FileIdentity?> identityOf)
    {
        var path = BackingPath.Combine(topPath, backingFile);
        string? why;
        if (backingFile.Length == 0)
        {
            why = "it is empty";
        }
        else if (refusalOf(path) is { } refusal)
        {
            // Refused before anything looks the file up: whether an outside file exists is not told.
            why = refusal;
        }
        else if (identityOf(path) is not { } named)
        {
            why = "there is no such file";
        }
        else if (identityOf(basePath) is not { } @base || named.Device != @base.Device || named.Inode != @base.Inode)
        {
            why = "it is another file than the base image";
        }
        else
        {
            return null;
        }

        return DomainError.InvalidParameter(
            $"Invalid parameter 'backing-file': '{backingFile}' (resolved from the top image's folder to '{path}') does not name the base image '{basePath}': {why}");
    }

    private static FileIdentity? IdentityOrNull(string path)
    {
        try
        {
            return FileIdentity.Of(path);
        }
        catch (Qcow2Exception)
        {
            return null;
        }
    }
}
