namespace Orchestrator.Domain.Disks;

/// <summary>
/// What the registry knows of one disk: the node that hosts it, the images it holds, and whether its actor has
/// confirmed them since a journal of the old disk manager was imported (which never recorded images).
/// </summary>
public sealed record RegisteredDisk(string Disk, string Host, List<ImageClaim> Images, bool Confirmed);
