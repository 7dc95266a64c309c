using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator job pause|resume|cancel|dismiss ID, job set-speed ID N: QEMU's job verbs.</summary>
public static class JobVerbCommand
{
    private static readonly JsonSerializerOptions _indented = new() { WriteIndented = true };

    private static readonly (string Verb, string Description)[] Verbs =
    [
        ("pause", "Pause a job (block-job-pause)"),
        ("resume", "Resume a paused job (block-job-resume)"),
        ("cancel", "Cancel a job (block-job-cancel); the chain stays as it was"),
        ("dismiss", "Remove a concluded job from the list (block-job-dismiss)"),
    ];

    public static Command Build()
    {
        var job = new Command("job", "QEMU's job verbs: pause, resume, cancel, dismiss, set-speed");
        foreach (var (verb, description) in Verbs)
        {
            job.Subcommands.Add(ClientArgs.Verb(verb, description, Opt.Positional("ID", "the job id")).Runs(cl => Run(verb, cl)));
        }

        var setSpeed = ClientArgs.Verb("set-speed", "Change a job's rate limit (block-job-set-speed)",
            Opt.Positional("ID", "the job id"),
            Opt.Positional("N", "bytes per second with k, M, G suffixes; 0 = unlimited"));
        setSpeed.Runs(cl => Run("set-speed", cl));
        job.Subcommands.Add(setSpeed);
        return job;
    }

    private static int Run(string verb, CommandLine cl)
    {
        cl.LimitPositional(verb == "set-speed" ? 2 : 1);
        var id = cl.RequirePositional(0, "job id");
        SetSpeedRequest? body = null;
        if (verb == "set-speed")
        {
            body = new SetSpeedRequest { Speed = SizeParser.Parse(cl.RequirePositional(1, "speed in bytes per second (0 = unlimited)"), "speed") };
        }

        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var reply = client.SendOptionalAsync(HttpMethod.Post, $"jobs/{NodeClient.Segment(id)}/{verb}", body, CliCancellation.Token)
            .GetAwaiter().GetResult();
        if (json)
        {
            // QMP answers these verbs with an empty object; we have the job as it is afterwards, when it still exists.
            Console.WriteLine(reply is { } element ? JsonSerializer.Serialize(element, _indented) : "{}");
        }
        else if (reply is { } element && element.TryGetProperty("device", out _))
        {
            var job = element.Deserialize<JobView>(NodeClient.Json)!;
            Console.WriteLine(HumanFormat.JobSummary(job));
        }
        else if (reply is { } message && message.TryGetProperty("message", out var text))
        {
            Console.WriteLine(text.GetString());
        }

        return 0;
    }
}
