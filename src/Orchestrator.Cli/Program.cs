using Orchestrator.Cli;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Node;
using Orchestrator.Qcow2;

return Entry.Run(args);

namespace Orchestrator.Cli
{
    /// <summary>Dispatches verbs; user errors become one line on stderr and a non-zero exit, never a stack trace.</summary>
    public static class Entry
    {
        private const string Usage = """
            usage: orchestrator <command> ...
              image create -f qcow2 [-o cluster_size=N,compat=1.1|0.10] [-b BACKING [-F qcow2]] FILE [SIZE]
              image info [--backing-chain] [--output json|human] FILE
              image map [--output json] FILE
              image check [-r leaks] FILE
              image rebase -u -b NEW [-F qcow2] FILE
              image stream [-t CACHE] [-T CACHE] [--base BASE] [--backing-file STR] [--batch-size N] [--checkpoint-size N] [-q] FILE
              demo [--dir DIR] [--size SIZE] [-t CACHE]
              serve [--data DIR] [--http HOST:PORT] [--storage-root DIR ...] [--cache none|writeback] [--request-timeout SECONDS]
                    [--batch-size BYTES] [--checkpoint-size BYTES] [--snapshot-interval EVENTS]
                    [--guest-yield-size BYTES] [--nbd HOST:PORT [--nbd-allow-remote]] [--image-locking on|off]
              disk add ID PATH | disk list | disk show ID | disk remove ID
              snapshot DISK PATH
              stream DISK [--base B] [--top T] [--backing-file S] [--job-id ID] [--speed N] [--on-error report|ignore|stop|enospc] [--no-auto-dismiss] [--wait]
              block-copy DISK DEST [--job-id ID] [--speed N] [--on-error P] [--no-auto-dismiss] [--wait]
              jobs
              job pause|resume|cancel|dismiss ID
              job set-speed ID N
              events [--follow] [--after N]
            CACHE is none (O_DIRECT) or writeback (page cache, the default), as qemu-img's -t/-T.
            serve: the node and its HTTP API (default 127.0.0.1:8080, data in $XDG_DATA_HOME/orchestrator or
              ~/.local/share/orchestrator, the current folder as storage root); settings also come from
              appsettings.json in the current folder and ORCHESTRATOR_DATA, ORCHESTRATOR_HTTP, ORCHESTRATOR_STORAGEROOTS.
              --batch-size: bytes a stream copies per step (64K..256M, default 1M; the unit of the rate limit and of
              pause points); --checkpoint-size: bytes copied between persisted checkpoints (at least 64K,
              default 256M; a crash redoes at most this much); --snapshot-interval: journal events between snapshots of
              a disk's state (1..1000000, default 100; a restart replays at most this many per disk);
              --guest-yield-size: while the guest does I/O, the largest request a stream puts on the device (4K..64M,
              default 128K; smaller favours the guest's latency, larger the stream's speed). Also BatchSize /
              CheckpointSize / SnapshotInterval / GuestYieldSize in appsettings.json, ORCHESTRATOR_BATCHSIZE /
              ORCHESTRATOR_CHECKPOINTSIZE / ORCHESTRATOR_SNAPSHOTINTERVAL / ORCHESTRATOR_GUESTYIELDSIZE.
              NBD: every disk is exported under its id on DATA/nbd.sock (mode 0600); --nbd also serves TCP (Nbd,
              ORCHESTRATOR_NBD), loopback only unless --nbd-allow-remote (NbdAllowRemote): NBD has no authentication.
              --image-locking (ImageLocking): hold QEMU's image locks on open images (default on).
            Client commands (disk ... events) take [--output json|human] and find the node by --server URL and
            --token-file FILE, else ORCHESTRATOR_SERVER and ORCHESTRATOR_TOKEN, else --data DIR of a local node
            (DIR/endpoint, DIR/token), else the default data folder. Sizes and speeds accept k, M, G suffixes.
            """;

        public static int Run(string[] args)
        {
            try
            {
                return Dispatch(args);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            catch (Qcow2Exception e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            catch (ClientException e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return e.ExitCode;
            }
            catch (NodeConfigurationException e)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (CliCancellation.Token.IsCancellationRequested)
            {
                return CliCancellation.ExitCode;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"orchestrator: {e.Message}");
                return 1;
            }
        }

        private static int Dispatch(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 1 : 0;
            }

            var rest = args.Skip(2).ToList();
            return (args[0], args.Length > 1 ? args[1] : null) switch
            {
                ("image", "create") => ImageCreateCommand.Run(rest),
                ("image", "info") => ImageInfoCommand.Run(rest),
                ("image", "map") => ImageMapCommand.Run(rest),
                ("image", "check") => ImageCheckCommand.Run(rest),
                ("image", "rebase") => ImageRebaseCommand.Run(rest),
                ("image", "stream") => ImageStreamCommand.Run(rest),
                ("demo", _) => DemoCommand.Run(args.Skip(1).ToList()),
                ("serve", _) => ServeCommand.Run(args.Skip(1).ToList()),
                ("disk", var verb) => DiskCommand.Run(verb, rest),
                ("snapshot", _) => SnapshotCommand.Run(args.Skip(1).ToList()),
                ("stream", _) => StreamCommand.Run(args.Skip(1).ToList()),
                ("block-copy", _) => BlockCopyCommand.Run(args.Skip(1).ToList()),
                ("jobs", _) => JobsCommand.Run(args.Skip(1).ToList()),
                ("job", var verb) => JobVerbCommand.Run(verb, rest),
                ("events", _) => EventsCommand.Run(args.Skip(1).ToList()),
                ("image", var verb) => throw new UsageException($"unknown image command '{verb}' (create, info, map, check, rebase, stream)"),
                var (command, _) => throw new UsageException($"unknown command '{command}'; run 'orchestrator --help'"),
            };
        }
    }
}
