using Akka.Actor;
using Akka.Event;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Fleet;
using Orchestrator.Domain;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// This node's registry as one actor reference for the disks that run here: it wraps each message for the registry
/// entity of this host and forwards it to the registry region, so the answer goes straight back to the asker. Job ids
/// are also claimed fleet-wide (<see cref="JobIdActor"/>), after this host's registry took them: a fleet holder's
/// host has therefore always recorded it, and a holder its host no longer records is stale and may be replaced.
/// </summary>
public sealed class RegistryProxy : ReceiveActor
{
    private static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(10);

    // How long the holder's host may take to say whether it still has the job; an unreachable host is not waited for.
    private static readonly TimeSpan StaleCheckTimeout = TimeSpan.FromSeconds(2);

    private readonly string _host;
    private readonly IActorRef _registries;
    private readonly IActorRef _jobIds;
    private readonly ActorSystem _system = Context.System;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public RegistryProxy(string host, IActorRef registries, IActorRef jobIds)
    {
        _host = host;
        _registries = registries;
        _jobIds = jobIds;
        Receive<RegistryCommands.ClaimJob>(c => ClaimJob(c).PipeTo(Sender));
        Receive<RegistryCommands.ReleaseJob>(r =>
        {
            _registries.Forward(new RegistryEnvelope(host, r));
            _jobIds.Tell(new JobIdCommands.Release(r.Job, HolderOf(r.Disk)));
        });
        Receive<RegistryCommands.Sync>(s =>
        {
            _registries.Forward(new RegistryEnvelope(host, s));
            foreach (var job in s.Jobs)
            {
                // After a restart: a job that was started before its id was claimed fleet-wide claims it now.
                ClaimInFleet(job, HolderOf(s.Disk)).ContinueWith(t => WarnIfRefused(t, job), TaskScheduler.Default);
            }
        });
        ReceiveAny(message => _registries.Forward(new RegistryEnvelope(host, message)));
    }

    public static Props Props(string host, IActorRef registries, IActorRef jobIds) => Akka.Actor.Props.Create(() => new RegistryProxy(host, registries, jobIds));

    private JobIdHolder HolderOf(DiskId disk) => new(_host, disk.Value);

    /// <summary>This host's registry first (unique on the node), then the fleet; a fleet refusal gives the local claim back.</summary>
    private async Task<object> ClaimJob(RegistryCommands.ClaimJob claim)
    {
        var local = await _registries.Ask<object>(new RegistryEnvelope(_host, claim), ClaimTimeout).ConfigureAwait(false);
        if (local is DiskReplies.Refused)
        {
            return local;
        }

        var fleet = await ClaimInFleet(claim.Job, HolderOf(claim.Disk)).ConfigureAwait(false);
        if (fleet is DiskReplies.Refused)
        {
            _registries.Tell(new RegistryEnvelope(_host, new RegistryCommands.ReleaseJob(claim.Disk, claim.Job)));
        }

        return fleet;
    }

    /// <summary>
    /// Claims the id in the fleet. Held by the same disk on another host, the disk moved and the holder is replaced. Held
    /// by another disk, the holder's host is asked whether it still has that job: if not (its release was lost in a
    /// crash), the stale holder is replaced; if it has, or cannot say in time, refused.
    /// </summary>
    private async Task<object> ClaimInFleet(JobId job, JobIdHolder claimant)
    {
        var reply = await _jobIds.Ask<object>(new JobIdCommands.Claim(job, claimant), ClaimTimeout).ConfigureAwait(false);
        if (reply is not JobIdCommands.HeldBy held)
        {
            return reply;
        }

        if (held.Holder.Disk == claimant.Disk)
        {
            // The same disk from another host: it moved (shared-storage failover), and its job ids move with it. Only
            // the disk's own entity claims for it, and it runs on one host at a time.
            var moved = await _jobIds.Ask<object>(new JobIdCommands.Claim(job, claimant, held.Holder), ClaimTimeout).ConfigureAwait(false);
            return moved is JobIdCommands.HeldBy other ? new DiskReplies.Refused(other.Error) : moved;
        }

        RegistryCommands.Located located;
        try
        {
            located = await _registries.Ask<RegistryCommands.Located>(new RegistryEnvelope(held.Holder.Host, new RegistryCommands.Locate(job)), StaleCheckTimeout)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return new DiskReplies.Refused(held.Error);
        }

        if (located.Disk?.Value == held.Holder.Disk)
        {
            return new DiskReplies.Refused(held.Error);
        }

        var again = await _jobIds.Ask<object>(new JobIdCommands.Claim(job, claimant, held.Holder), ClaimTimeout).ConfigureAwait(false);
        return again is JobIdCommands.HeldBy still ? new DiskReplies.Refused(still.Error) : again;
    }

    private void WarnIfRefused(Task<object> claim, JobId job)
    {
        if (_system.WhenTerminated.IsCompleted)
        {
            // The node stopped while it asked (a test's restart, a shutdown): the claim's timeout says nothing about the
            // fleet, and the next start claims again from its Sync.
            return;
        }

        var problem = claim.IsCompletedSuccessfully
            ? (claim.Result as DiskReplies.Refused)?.Error.Message
            : claim.Exception?.GetBaseException().Message;
        if (problem is not null)
        {
            _log.Warning("job '{0}' on host {1} could not claim its id in the fleet: {2}", job, _host, problem);
        }
    }
}
