using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Fleet;

/// <summary>
/// The protocol of a job id's fleet-wide entity (sharded by the id, on any member). <see cref="Claim"/> answers
/// <see cref="Disks.RegistryCommands.Accepted"/>, or <see cref="HeldBy"/> when another disk's job holds the id;
/// <see cref="Release"/> answers nothing; <see cref="Locate"/> answers <see cref="Located"/>.
/// </summary>
public static class JobIdCommands
{
    /// <param name="Stale">The holder the claimant checked and found without this job: it may be replaced.</param>
    public sealed record Claim(JobId Job, JobIdHolder Claimant, JobIdHolder? Stale = null);

    public sealed record Release(JobId Job, JobIdHolder Holder);

    public sealed record Locate(JobId Job);

    public sealed record Located(JobId Job, JobIdHolder? Holder);

    /// <summary>The claim was refused because <paramref name="Holder"/> holds the id; <paramref name="Error"/> says so.</summary>
    public sealed record HeldBy(JobId Job, JobIdHolder Holder, DomainError Error);
}
