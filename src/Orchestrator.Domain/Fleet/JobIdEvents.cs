namespace Orchestrator.Domain.Fleet;

/// <summary>Marker of what a job id's fleet-wide owner record persists (its stream is <c>jobid-{id}</c>).</summary>
public interface IJobIdEvent : IWireMessage;

/// <summary>The events of <see cref="JobIdOwnership"/>: strings only, the parameters of what happened.</summary>
public static class JobIdEvents
{
    /// <summary>A job of <paramref name="Disk"/> on <paramref name="Host"/> took the id.</summary>
    [WireName("fleet.job-id-claimed.v1")]
    public sealed record Claimed(string Host, string Disk) : IJobIdEvent;

    /// <summary>The id is free again (its job was dismissed, or never started).</summary>
    [WireName("fleet.job-id-released.v1")]
    public sealed record Released(string Host, string Disk) : IJobIdEvent;
}
