using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator block-copy DISK DEST [--job-id ID] [--speed N] [--on-error P] [--no-auto-dismiss] [--wait].</summary>
public static class BlockCopyCommand
{
    public static Command Build() => ClientArgs.Verb("block-copy", "Start a live block copy of a disk's whole chain to DEST, which becomes its active image",
            [
                Opt.Positional("DISK", "the disk id"),
                Opt.Positional("DEST", "path of the new image"),
                .. JobStart.Options(),
            ])
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(2);
        var disk = cl.RequirePositional(0, "disk id");
        var request = new BlockCopyJobRequest
        {
            Destination = ClientArgs.FullPath(cl.RequirePositional(1, "destination image path")),
            JobId = cl.Value("--job-id"),
            Speed = ClientArgs.Speed(cl),
            OnError = StreamCommand.OnError(cl.Value("--on-error")),
            AutoDismiss = cl.Has("--no-auto-dismiss") ? false : null,
        };
        return JobStart.Run(cl, disk, $"disks/{NodeClient.Segment(disk)}/block-copy", request, "Block Copy");
    }
}
