using System.Globalization;
using Orchestrator.ImageCommands.Output;
using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>The human output of the client verbs.</summary>
public static class HumanFormat
{
    /// <summary>HMP's info block-jobs line.</summary>
    public static string JobLine(JobView job) => string.Create(CultureInfo.InvariantCulture,
        $"Type {job.Type}, device {job.Device}: Completed {job.Offset} of {job.Len} bytes, speed limit {job.Speed} bytes/s");

    /// <summary>HMP's line with what virsh's blockjob --info adds: the percent done and the job's state ("paused" included).</summary>
    public static string JobSummary(JobView job) => $"{JobLine(job)} [{Percent(job)}, {State(job)}]";

    /// <summary>Offset over length, rounded down so that 100 % means done.</summary>
    public static string Percent(JobView job)
    {
        var percent = job.Len <= 0 ? (job.Status == "concluded" ? 100.0 : 0.0) : Math.Floor(job.Offset * 1000.0 / job.Len) / 10;
        return string.Create(CultureInfo.InvariantCulture, $"{percent:0.0} %");
    }

    /// <summary>QEMU's status, with "pausing" while a pause is asked for and not yet reached.</summary>
    public static string State(JobView job) => job.Paused && job.Status is not ("paused" or "standby") ? $"{job.Status}, pausing" : job.Status;

    /// <summary>The chain as the QEMU docs draw it: the bottom image first, the active image last.</summary>
    public static string ChainLine(IReadOnlyList<string> chainTopFirst) =>
        string.Join(" -> ", chainTopFirst.Reverse().Select(p => $"[{Path.GetFileName(p)}]"));

    public static void PrintDisk(DiskView disk)
    {
        Console.WriteLine($"disk: {disk.Id}");
        Console.WriteLine($"active image: {disk.ActivePath}");
        Console.WriteLine($"chain: {ChainLine(disk.Chain)}");
        Console.WriteLine($"nbd: {disk.Nbd.Unix}");
        if (disk.Nbd.Tcp is { } tcp)
        {
            Console.WriteLine($"nbd (tcp): {tcp}");
        }

        Console.WriteLine("images (active first):");
        foreach (var image in disk.Images)
        {
            Console.WriteLine($"  {image.Path}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    virtual size {Bytes.Human(image.VirtualSize)} ({image.VirtualSize} bytes), cluster size {image.ClusterSize}, "
                + $"allocated {Bytes.Human(image.AllocatedBytes)} ({image.AllocatedBytes} bytes), backing file {image.BackingFile ?? "none"}"));
        }

        if (disk.Jobs.Count == 0)
        {
            Console.WriteLine("jobs: none");
            return;
        }

        Console.WriteLine("jobs:");
        foreach (var job in disk.Jobs)
        {
            Console.WriteLine($"  {JobSummary(job)}");
        }
    }
}
