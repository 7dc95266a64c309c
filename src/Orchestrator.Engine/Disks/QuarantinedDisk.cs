using Akka.Actor;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;

namespace Orchestrator.Engine.Disks;

/// <summary>
/// Stands in for a disk whose journal could not be replayed (its entity stopped in recovery): answers show and list
/// with the reason, and refuses every command, so the disk is visible and the node serves all the others. Its journal
/// is left as it is, for an operator to inspect.
/// </summary>
public sealed class QuarantinedDisk : ReceiveActor
{
    public QuarantinedDisk(DiskId disk, string reason)
    {
        var info = new DiskReplies.DiskInfo(disk, "", [], [], [], DiskStates.Quarantined, reason);
        Receive<EngineMessages.HandOff>(_ => Context.Stop(Self));
        Receive<DiskCommands.Show>(_ => Sender.Tell(info));
        Receive<EngineMessages.Summarize>(_ => Sender.Tell(info));
        Receive<DiskCommands.QueryJobs>(_ => Sender.Tell(new DiskReplies.JobList([])));
        Receive<IDiskCommand>(_ => Sender.Tell(new DiskReplies.Refused(
            DomainError.WrongState($"disk '{disk}' is quarantined: {reason}"))));
    }

    public static Props Props(DiskId disk, string reason) => Akka.Actor.Props.Create(() => new QuarantinedDisk(disk, reason));
}
