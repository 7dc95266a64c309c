using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// Starts a job, prints it, and with --wait follows it to the end, as virsh's blockpull/blockcopy --wait do: when
/// --timeout passes or Ctrl+C arrives, the job is cancelled and the wait reports it; with --detach either only stops the
/// wait and the job goes on.
/// </summary>
internal static class JobStart
{
    private static readonly TimeSpan _cancelGrace = TimeSpan.FromSeconds(30);

    /// <summary>The options of every verb that starts a job (stream, block-copy): QEMU's job arguments and the wait's.</summary>
    public static Symbol[] Options() =>
    [
        Opt.Value("--job-id", "ID", "the job's id (default: the disk id)"),
        Opt.Value("--speed", "N", "rate limit in bytes per second, with k, M, G suffixes (default 0, unlimited)"),
        Opt.Choice("--on-error", "what an I/O error does (default report)", ["report", "ignore", "stop", "enospc"]),
        Opt.Switch("--no-auto-dismiss", "keep the job in the list when it ends, until `job dismiss`"),
        Opt.Switch("--wait", "follow the job with a progress bar until it ends"),
        Opt.Value("--timeout", "SECONDS", "with --wait (implied): cancel the job when it has not ended after this many seconds"),
        Opt.Switch("--detach", "with --wait: Ctrl+C and --timeout stop waiting and leave the job running, instead of cancelling it"),
    ];

    public static int Run(CommandLine cl, string disk, string path, object request, string label)
    {
        var json = ClientArgs.Json(cl);
        var timeout = Timeout(cl);
        var wait = cl.Has("--wait") || timeout is not null;
        using var client = ClientArgs.Connect(cl);
        var interrupt = CliCancellation.Token;
        // The start itself is not interrupted: a Ctrl+C while it is under way would leave a job the node started and this
        // process never heard of. Once it has answered, the wait below sees the Ctrl+C and cancels the job (or detaches);
        // a second Ctrl+C ends the process at once.
        var started = client.SendAsync<JobView>(HttpMethod.Post, path, request, CancellationToken.None).GetAwaiter().GetResult();
        var job = started.Value;
        if (!wait)
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
        using var timer = new CancellationTokenSource();
        if (timeout is { } limit)
        {
            timer.CancelAfter(limit);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupt, timer.Token);
        try
        {
            var completed = new JobWaiter(client, job, after, label).WaitAsync(showBar: !json, stop.Token).GetAwaiter().GetResult();
            return Completed(client, disk, job, completed, json);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            var why = timer.IsCancellationRequested
                ? $"--timeout {timeout!.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s passed"
                : "interrupted";
            var exitCode = timer.IsCancellationRequested ? 1 : CliCancellation.ExitCode;
            if (cl.Has("--detach"))
            {
                throw new ClientException($"stopped waiting ({why}); job '{job.Device}' goes on (see `orchestrator jobs`)", exitCode);
            }

            return CancelAndReport(client, job, after, label, why, exitCode, disk, json);
        }
    }

    private static TimeSpan? Timeout(CommandLine cl) => cl.Value("--timeout") is not { } text
        ? null
        : double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= int.MaxValue / 1000
            ? TimeSpan.FromSeconds(seconds)
            : throw new UsageException($"--timeout must be a positive number of seconds, not '{text}'");

    /// <summary>block-job-cancel, then the wait goes on (from the same event) until the job has ended, as virsh's abort does.</summary>
    private static int CancelAndReport(NodeClient client, JobView job, long after, string label, string why, int exitCode, string disk, bool json)
    {
        using var grace = new CancellationTokenSource(_cancelGrace);
        try
        {
            client.SendOptionalAsync(HttpMethod.Post, $"jobs/{NodeClient.Segment(job.Device)}/cancel", null, grace.Token).GetAwaiter().GetResult();
        }
        catch (ClientException)
        {
            // Already ended (or ending): the events below say how.
        }

        try
        {
            var completed = new JobWaiter(client, job, after, label).WaitAsync(showBar: false, grace.Token).GetAwaiter().GetResult();
            Console.Error.WriteLine($"job '{job.Device}' completed before the cancel ({why}) reached it");
            return Completed(client, disk, job, completed, json);
        }
        catch (ClientException e) when (e.Message.Contains("was cancelled", StringComparison.Ordinal))
        {
            throw new ClientException($"{why}: job '{job.Device}' cancelled (the chain is as it was)", exitCode);
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested)
        {
            throw new ClientException($"{why}: asked job '{job.Device}' to cancel, and it has not ended within {_cancelGrace.TotalSeconds:0} s; "
                + "see `orchestrator jobs`", exitCode);
        }
    }

    private static int Completed(NodeClient client, string disk, JobView job, System.Text.Json.JsonElement completed, bool json)
    {
        if (json)
        {
            ClientArgs.PrintJson(completed);
            return 0;
        }

        Console.WriteLine($"Job '{job.Device}' completed");
        try
        {
            var view = client.GetAsync<DiskView>($"disks/{NodeClient.Segment(disk)}", CancellationToken.None).GetAwaiter().GetResult();
            Console.WriteLine($"Chain of disk '{view.Id}': {HumanFormat.ChainLine(view.Chain)}");
        }
        catch (ClientException)
        {
            // The job succeeded; the chain is only a courtesy.
        }

        return 0;
    }
}
