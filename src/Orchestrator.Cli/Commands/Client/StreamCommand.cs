using System.CommandLine;
using Orchestrator.Cli.Parsing;
using Orchestrator.Contracts;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// orchestrator stream DISK [--base B] [--top T] [--backing-file S] [--job-id ID] [--speed N] [--on-error P]
/// [--no-auto-dismiss] [--wait]: QEMU's block-stream (HMP block_stream, virsh blockpull).
/// </summary>
public static class StreamCommand
{
    public static Command Build() => ClientArgs.Verb("stream", "Start a block-stream job on a disk (QEMU's block-stream, virsh blockpull): copy the images above BASE into TOP",
            [
                Opt.Positional("DISK", "the disk id"),
                Opt.Value("--base", "B", "the image that stays below (default: none, the disk becomes standalone)"),
                Opt.Value("--top", "T", "the image that receives the data (default: the active image)"),
                Opt.Value("--backing-file", "S", "the backing file name to write into TOP's header"),
                .. JobStart.Options(),
            ])
        .Runs(Run);

    private static int Run(CommandLine cl)
    {
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
