using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// orchestrator jobs: HMP's info block-jobs; --output json gives query-block-jobs' array. With --all, the jobs that
/// have ended follow (oVirt keeps its jobs: outcome, start, end, progress and error); json then gives
/// <c>{"jobs": [...], "finished": [...]}</c>.
/// </summary>
public static class JobsCommand
{
    public static Command Build() => ClientArgs.Verb("jobs", "List the node's jobs with their progress and state (HMP's info block-jobs; json: query-block-jobs)",
            Opt.Switch("--all", "also list the jobs that have ended (completed, failed, cancelled), oldest first"))
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var jobs = client.GetAsync<JobView[]>("jobs", CliCancellation.Token).GetAwaiter().GetResult();
        var finished = cl.Has("--all") ? client.GetAsync<FinishedJobView[]>("job-history", CliCancellation.Token).GetAwaiter().GetResult() : null;
        if (json)
        {
            ClientArgs.PrintJson(finished is null ? jobs : new { jobs, finished });
            return 0;
        }

        if (jobs.Length == 0)
        {
            Console.WriteLine("No active jobs");
        }

        foreach (var job in jobs)
        {
            Console.WriteLine(HumanFormat.JobSummary(job));
        }

        if (finished is not null)
        {
            Console.WriteLine(finished.Length == 0 ? "No finished jobs" : "Finished:");
            foreach (var job in finished)
            {
                Console.WriteLine(FinishedLine(job));
            }
        }

        return 0;
    }

    private static string FinishedLine(FinishedJobView job)
    {
        var started = job.Started is { } at ? at.ToString("u", CultureInfo.InvariantCulture) : "before the oldest kept event";
        var error = job.Error is null ? "" : $": {job.Error}";
        return $"{job.Type} job '{job.Id}' {job.Outcome} at {job.Offset}/{job.Len} bytes, started {started}, ended "
            + $"{job.Ended.ToString("u", CultureInfo.InvariantCulture)}{error}";
    }
}
