using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator snapshot DISK PATH: a live external snapshot (HMP's snapshot_blkdev); PATH becomes the active image.</summary>
public static class SnapshotCommand
{
    public static Command Build() => ClientArgs.Verb("snapshot", "Take a live external snapshot (HMP's snapshot_blkdev): PATH becomes the active image",
            Opt.Positional("DISK", "the disk id"),
            Opt.Positional("PATH", "path of the new overlay"))
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(2);
        var disk = cl.RequirePositional(0, "disk id");
        var path = ClientArgs.FullPath(cl.RequirePositional(1, "path of the new overlay"));
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var view = client.SendAsync<DiskView>(HttpMethod.Post, $"disks/{NodeClient.Segment(disk)}/snapshot", new SnapshotRequest { Path = path }, CliCancellation.Token)
            .GetAwaiter().GetResult().Value;
        if (json)
        {
            ClientArgs.PrintJson(view);
        }
        else
        {
            Console.WriteLine($"Snapshot of disk '{view.Id}': active image is now '{view.ActivePath}'; chain {HumanFormat.ChainLine(view.Chain)}");
        }

        return 0;
    }
}
