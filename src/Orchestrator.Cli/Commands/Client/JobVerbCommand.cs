using System.Text.Json;
using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>orchestrator job pause|resume|cancel|dismiss ID, job set-speed ID N: QEMU's job verbs.</summary>
public static class JobVerbCommand
{
    private static readonly JsonSerializerOptions _indented = new() { WriteIndented = true };

    public static int Run(string? verb, IReadOnlyList<string> args)
    {
        if (verb is not ("pause" or "resume" or "cancel" or "dismiss" or "set-speed"))
        {
            throw new UsageException(verb is null
                ? "missing job command (pause, resume, cancel, dismiss, set-speed)"
                : $"unknown job command '{verb}' (pause, resume, cancel, dismiss, set-speed)");
        }

        if (verb == "set-speed" && args.Any(a => a.Length > 1 && a[0] == '-' && char.IsAsciiDigit(a[1])))
        {
            // QEMU's wording; caught here because the parser would take "-5" for an option.
            throw new UsageException("Invalid parameter 'speed': must be 0 (unlimited) or a positive number of bytes per second");
        }

        var cl = ClientArgs.Parse(args, [], []);
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
            Console.WriteLine($"{HumanFormat.JobLine(job)} [{job.Status}{(job.Paused && job.Status != "paused" ? ", pausing" : string.Empty)}]");
        }
        else if (reply is { } message && message.TryGetProperty("message", out var text))
        {
            Console.WriteLine(text.GetString());
        }

        return 0;
    }
}
