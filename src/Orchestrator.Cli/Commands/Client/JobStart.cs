using System.Globalization;
using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>Starts a job, prints it, and with --wait follows it to the end.</summary>
internal static class JobStart
{
    public static int Run(CommandLine cl, string disk, string path, object request, string label)
    {
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var cancel = CliCancellation.Token;
        var started = client.SendAsync<JobView>(HttpMethod.Post, path, request, cancel).GetAwaiter().GetResult();
        var job = started.Value;
        if (!cl.Has("--wait"))
        {
            if (json)
            {
                ClientArgs.PrintJson(job);
            }
            else
            {
                Console.WriteLine($"Started {job.Type} job '{job.Device}' on disk '{job.Disk}' ({job.Len} bytes)");
            }

            return 0;
        }

        var after = started.Headers.TryGetValues(ApiHeaders.EventSequence, out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                ? sequence
                : 0;
        try
        {
            var completed = new JobWaiter(client, job, after, label).WaitAsync(showBar: !json, cancel).GetAwaiter().GetResult();
            if (json)
            {
                ClientArgs.PrintJson(completed);
                return 0;
            }

            Console.WriteLine($"Job '{job.Device}' completed");
            try
            {
                var view = client.GetAsync<DiskView>($"disks/{NodeClient.Segment(disk)}", cancel).GetAwaiter().GetResult();
                Console.WriteLine($"Chain of disk '{view.Id}': {HumanFormat.ChainLine(view.Chain)}");
            }
            catch (ClientException)
            {
                // The job succeeded; the chain is only a courtesy.
            }

            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine($"stopped waiting; job '{job.Device}' goes on (see `orchestrator jobs`)");
            return CliCancellation.ExitCode;
        }
    }
}
