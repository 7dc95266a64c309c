using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator block-copy DISK DEST [--job-id ID] [--speed N] [--on-error P] [--no-auto-dismiss] [--wait].</summary>
public static class BlockCopyCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, ["--job-id", "--speed", "--on-error"], ["--no-auto-dismiss", "--wait"]);
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
