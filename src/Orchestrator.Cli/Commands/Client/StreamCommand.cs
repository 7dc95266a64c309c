using Orchestrator.Contracts;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// orchestrator stream DISK [--base B] [--top T] [--backing-file S] [--job-id ID] [--speed N] [--on-error P]
/// [--no-auto-dismiss] [--wait]: QEMU's block-stream (HMP block_stream, virsh blockpull).
/// </summary>
public static class StreamCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var cl = ClientArgs.Parse(args, ["--base", "--top", "--backing-file", "--job-id", "--speed", "--on-error"], ["--no-auto-dismiss", "--wait"]);
        cl.LimitPositional(1);
        var disk = cl.RequirePositional(0, "disk id");
        var request = new StreamJobRequest
        {
            Base = cl.Value("--base") is { } b ? ClientArgs.ChainName(b) : null,
            Top = cl.Value("--top") is { } t ? ClientArgs.ChainName(t) : null,
            BackingFile = cl.Value("--backing-file"),
            JobId = cl.Value("--job-id"),
            Speed = ClientArgs.Speed(cl),
            OnError = OnError(cl.Value("--on-error")),
            AutoDismiss = cl.Has("--no-auto-dismiss") ? false : null,
        };
        return JobStart.Run(cl, disk, $"disks/{NodeClient.Segment(disk)}/stream", request, "Block Stream");
    }

    internal static string? OnError(string? value) => value switch
    {
        null => null,
        "report" or "ignore" or "stop" or "enospc" => value,
        _ => throw new UsageException($"--on-error must be report, ignore, stop or enospc, not '{value}'"),
    };
}
