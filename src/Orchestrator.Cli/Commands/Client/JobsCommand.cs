using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator jobs: HMP's info block-jobs; --output json gives query-block-jobs' array.</summary>
public static class JobsCommand
{
    public static Command Build() => ClientArgs.Verb("jobs", "List the node's jobs with their progress and state (HMP's info block-jobs; json: query-block-jobs)")
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var jobs = client.GetAsync<JobView[]>("jobs", CliCancellation.Token).GetAwaiter().GetResult();
        if (json)
        {
            ClientArgs.PrintJson(jobs);
        }
        else if (jobs.Length == 0)
        {
            Console.WriteLine("No active jobs");
        }
        else
        {
            foreach (var job in jobs)
            {
                Console.WriteLine(HumanFormat.JobSummary(job));
            }
        }

        return 0;
    }
}
