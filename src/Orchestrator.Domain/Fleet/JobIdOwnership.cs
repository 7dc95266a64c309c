namespace Orchestrator.Domain.Fleet;

/// <summary>
/// Who holds one job id in the whole fleet, as pure state: nobody, or one disk on one host. A claim by another disk is
/// refused naming the holder, unless the claimant shows that the holder is stale (the holder's host no longer has
/// that job): then it replaces it. One decision is one atomic step of the id's single entity.
/// </summary>
public sealed record JobIdOwnership(JobIdHolder? Holder)
{
    public static readonly JobIdOwnership Free = new((JobIdHolder?)null);

    public JobIdOwnership Apply(IJobIdEvent e) => e switch
    {
        JobIdEvents.Claimed c => new JobIdOwnership(new JobIdHolder(c.Host, c.Disk)),
        JobIdEvents.Released r when Holder == new JobIdHolder(r.Host, r.Disk) => Free,
        _ => this,
    };

    /// <param name="stale">A holder the claimant found stale (its host's registry has no such job there); it may be replaced.</param>
    public Decision<IJobIdEvent> DecideClaim(string job, JobIdHolder claimant, JobIdHolder? stale = null)
    {
        if (Holder is null || (stale is not null && Holder == stale))
        {
            return Decision<IJobIdEvent>.Accept(new JobIdEvents.Claimed(claimant.Host, claimant.Disk));
        }

        return Holder == claimant
            ? Decision<IJobIdEvent>.Accept()
            : Decision<IJobIdEvent>.Refuse(DomainError.Conflict(
                $"Job ID '{IdRule.Printable(job)}' already in use (by a job of disk '{Holder.Disk}' on host {Holder.Host}); job ids are unique in the fleet"));
    }

    /// <summary>Frees the id if <paramref name="holder"/> holds it; anything else is a late or repeated release, ignored.</summary>
    public Decision<IJobIdEvent> DecideRelease(JobIdHolder holder) =>
        Holder == holder ? Decision<IJobIdEvent>.Accept(new JobIdEvents.Released(holder.Host, holder.Disk)) : Decision<IJobIdEvent>.Accept();
}
