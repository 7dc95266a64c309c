using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator disk add ID PATH | list | show ID | remove ID.</summary>
public static class DiskCommand
{
    public static Command Build() => new Command("disk", "Register, list, show and unregister the node's disks").With(
        ClientArgs.Verb("add", "Register a disk by its active image (the chain below it is read from the headers)",
            Opt.Positional("ID", "the disk id"),
            Opt.Positional("PATH", "path of the disk's active image"),
            Opt.Value("--host", "NODE", "the node whose storage holds the disk (default: the node answering)")).Runs(Add),
        ClientArgs.Verb("list", "List the registered disks").Runs(List),
        ClientArgs.Verb("show", "Show a disk: its chain, images, jobs and NBD export", Opt.Positional("ID", "the disk id")).Runs(Show),
        ClientArgs.Verb("remove", "Unregister a disk; its image files are untouched", Opt.Positional("ID", "the disk id")).Runs(Remove));

    private static int Add(CommandLine cl)
    {
        cl.LimitPositional(2);
        var id = cl.RequirePositional(0, "disk id");
        var path = ClientArgs.FullPath(cl.RequirePositional(1, "path of the disk's active image"));
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var disk = client.SendAsync<DiskView>(HttpMethod.Post, "disks", new RegisterDiskRequest { Id = id, Path = path, Host = cl.Value("--host") }, CliCancellation.Token)
            .GetAwaiter().GetResult().Value;
        if (json)
        {
            ClientArgs.PrintJson(disk);
        }
        else
        {
            Console.WriteLine($"Disk '{disk.Id}' registered: {HumanFormat.ChainLine(disk.Chain)}");
        }

        return 0;
    }

    private static int List(CommandLine cl)
    {
        cl.LimitPositional(0);
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var disks = client.GetAsync<DiskSummaryView[]>("disks", CliCancellation.Token).GetAwaiter().GetResult();
        if (json)
        {
            ClientArgs.PrintJson(disks);
            return 0;
        }

        if (disks.Length == 0)
        {
            Console.WriteLine("No disks registered");
            return 0;
        }

        var width = Math.Max(4, disks.Max(d => d.Id.Length));
        var hosts = Math.Max(4, disks.Max(d => d.Host?.Length ?? 0));
        Console.WriteLine($"{"ID".PadRight(width)}  {"HOST".PadRight(hosts)}  IMAGES  JOBS  ACTIVE IMAGE");
        foreach (var d in disks)
        {
            Console.WriteLine($"{d.Id.PadRight(width)}  {(d.Host ?? "-").PadRight(hosts)}  {d.ChainLength,6}  {d.LiveJobs,4}  {d.ActivePath}");
        }

        return 0;
    }

    private static int Show(CommandLine cl)
    {
        cl.LimitPositional(1);
        var id = cl.RequirePositional(0, "disk id");
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var disk = client.GetAsync<DiskView>($"disks/{NodeClient.Segment(id)}", CliCancellation.Token).GetAwaiter().GetResult();
        if (json)
        {
            ClientArgs.PrintJson(disk);
        }
        else
        {
            HumanFormat.PrintDisk(disk);
        }

        return 0;
    }

    private static int Remove(CommandLine cl)
    {
        cl.LimitPositional(1);
        var id = cl.RequirePositional(0, "disk id");
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var reply = client.SendAsync<MessageResponse>(HttpMethod.Delete, $"disks/{NodeClient.Segment(id)}", null, CliCancellation.Token)
            .GetAwaiter().GetResult().Value;
        if (json)
        {
            ClientArgs.PrintJson(reply);
        }
        else
        {
            Console.WriteLine($"Disk '{id}' unregistered; its image files are untouched");
        }

        return 0;
    }
}
