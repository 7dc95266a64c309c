using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Disks;

// A partial of the disk entity: same namespace as its other parts.
namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    /// <summary>
    /// A job's id is unique on the node and a block copy's destination belongs to one disk: both are claimed from the
    /// registry (one atomic step there) before the job is decided here. A claim whose job is then refused is released.
    /// </summary>
    private void ClaimThenStartJob(StreamRequest request, JobType type, string? destination)
    {
        // QEMU's default job id is the device name: the disk's id.
        var job = request.JobId ?? new JobId(_id.Value);
        if (IdRule.Problem(job.Value, "job-id") is { } problem)
        {
            Sender.Tell(new DiskReplies.Refused(DomainError.InvalidParameter(problem)));
            return;
        }

        Await(AskRegistry(new RegistryCommands.ClaimJob(_id, job)), reply =>
        {
            if (reply is DiskReplies.Refused refused)
            {
                Sender.Tell(refused);
                return;
            }

            if (destination is null)
            {
                StartClaimed(request, type, destination, job);
                return;
            }

            string path;
            try
            {
                path = StoragePolicy.Resolve(destination, _settings.StorageRoots);
            }
            catch (StorageRootException e)
            {
                ReleaseJobClaimIfUnused(job);
                RefuseWith(e);
                return;
            }

            Await(AskRegistry(new RegistryCommands.Claim(_id, ChainProbe.WithPending(ChainProbe.ClaimsOf(_state.Chain), path))), destinationReply =>
            {
                if (destinationReply is DiskReplies.Refused destinationRefused)
                {
                    ReleaseJobClaimIfUnused(job);
                    Sender.Tell(destinationRefused);
                    return;
                }

                StartClaimed(request, type, destination, job);
                ReclaimChain();
            }, RefuseWith);
        }, RefuseWith);
    }

    private void StartClaimed(StreamRequest request, JobType type, string? destination, JobId job)
    {
        StartJob(request, type, destination);

        // Handled after StartJob's events are persisted (persisting holds back later messages): by then the job
        // exists, or it was refused and its claim goes.
        Self.Tell(new JobClaimSettled(job));
    }

    private void ReleaseJobClaimIfUnused(JobId job)
    {
        if (!_state.Jobs.ContainsKey(job))
        {
            _registry.Tell(new RegistryCommands.ReleaseJob(_id, job));
        }
    }

    private sealed record JobClaimSettled(JobId Job);
}
