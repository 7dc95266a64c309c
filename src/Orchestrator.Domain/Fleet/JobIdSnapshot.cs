namespace Orchestrator.Domain.Fleet;

/// <summary>A job id's owner record as a snapshot: the holder, or both null when the id is free.</summary>
[WireName("fleet.job-id-snapshot.v1")]
public sealed record JobIdSnapshot(string? Host, string? Disk) : IWireMessage
{
    public static JobIdSnapshot Of(JobIdOwnership ownership) => new(ownership.Holder?.Host, ownership.Holder?.Disk);

    public JobIdOwnership ToOwnership() => Host is not null && Disk is not null ? new JobIdOwnership(new JobIdHolder(Host, Disk)) : JobIdOwnership.Free;
}
