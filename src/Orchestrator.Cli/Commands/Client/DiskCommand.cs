using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator disk add ID PATH | list | show ID | remove ID.</summary>
public static class DiskCommand
{
    public static int Run(string? verb, IReadOnlyList<string> args) => verb switch
    {
        "add" => Add(args),
        "list" => List(args),
        "show" => Show(args),
        "remove" => Remove(args),
        null => throw new UsageException("missing disk command (add, list, show, remove)"),
        _ => throw new UsageException($"unknown disk command '{verb}' (add, list, show, remove)"),
    };

    private static int Add(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, [], []);
        cl.LimitPositional(2);
        var id = cl.RequirePositional(0, "disk id");
        var path = ClientArgs.FullPath(cl.RequirePositional(1, "path of the disk's active image"));
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var disk = client.SendAsync<DiskView>(HttpMethod.Post, "disks", new RegisterDiskRequest { Id = id, Path = path }, CliCancellation.Token)
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

    private static int List(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, [], []);
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
        Console.WriteLine($"{"ID".PadRight(width)}  IMAGES  JOBS  ACTIVE IMAGE");
        foreach (var d in disks)
        {
            Console.WriteLine($"{d.Id.PadRight(width)}  {d.ChainLength,6}  {d.LiveJobs,4}  {d.ActivePath}");
        }

        return 0;
    }

    private static int Show(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, [], []);
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

    private static int Remove(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, [], []);
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
