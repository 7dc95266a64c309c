using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Parsing;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// orchestrator events [--follow] [--after N] [--fleet]: the node's QMP job events, one per line (the QMP JSON with
/// --output json). Without --follow it prints the retained events and exits. With --fleet, every host's events from the
/// journal, each with its host; --after then takes a fleet event's id (host:sequence,...).
/// </summary>
public static class EventsCommand
{
    public static Command Build() => ClientArgs.Verb("events", "Print the node's QMP job events, one per line (the QMP JSON with --output json)",
            Opt.Switch("--follow", "keep printing new events until Ctrl+C", "-f"),
            Opt.Value("--after", "N", "only events after this sequence number (with --fleet: after this event id, host:sequence,...)"),
            Opt.Switch("--fleet", "every host's events, read from the journal, each with its host"))
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
        cl.LimitPositional(0);
        var fleet = cl.Has("--fleet");
        var after = cl.Value("--after") is { } text
            ? fleet || (long.TryParse(text, out var n) && n >= 0) ? text : throw new UsageException($"--after must be an event sequence number, not '{text}'")
            : fleet ? "" : "0";
        var follow = cl.Has("--follow") || cl.Has("-f");
        var json = ClientArgs.Json(cl);
        using var client = ClientArgs.Connect(cl);
        var cancel = CliCancellation.Token;
        try
        {
            var events = fleet ? client.FleetEventsAsync(after, follow, cancel) : client.EventsAsync(long.Parse(after, System.Globalization.CultureInfo.InvariantCulture), follow, cancel);
            PrintAsync(client, events, follow, json, cancel).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return follow ? 0 : CliCancellation.ExitCode;
        }

        return 0;
    }

    private static async Task PrintAsync(NodeClient client, IAsyncEnumerable<SseMessage> events, bool follow, bool json, CancellationToken cancel)
    {
        await foreach (var message in events.WithCancellation(cancel))
        {
            Console.WriteLine(json ? message.Data : Human(message));
        }

        if (follow)
        {
            throw new ClientException($"the node at {client.Server} closed the event stream");
        }
    }

    /// <summary>"2026-01-02T03:04:05.678901Z #12 JOB_STATUS_CHANGE {"id":"d0","status":"running"}".</summary>
    private static string Human(SseMessage message)
    {
        try
        {
            using var doc = JsonDocument.Parse(message.Data);
            var root = doc.RootElement;
            var time = string.Empty;
            if (root.TryGetProperty("timestamp", out var ts) && ts.TryGetProperty("seconds", out var s) && ts.TryGetProperty("microseconds", out var us))
            {
                var at = DateTimeOffset.FromUnixTimeSeconds(s.GetInt64()).AddTicks(us.GetInt64() * 10);
                time = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture) + " ";
            }

            var data = root.TryGetProperty("data", out var d) ? d.GetRawText() : "{}";
            var host = root.TryGetProperty("host", out var h) ? $"{h.GetString()} " : "";
            return $"{time}#{message.Id} {host}{message.Event} {data}";
        }
        catch (JsonException)
        {
            return $"#{message.Id} {message.Event} {message.Data}";
        }
    }
}
