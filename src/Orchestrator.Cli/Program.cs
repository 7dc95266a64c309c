using Orchestrator.Cli;
using Orchestrator.Cli.Commands;
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
            CACHE is none (O_DIRECT) or writeback (page cache, the default), as qemu-img's -t/-T.
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
                ("image", var verb) => throw new UsageException($"unknown image command '{verb}' (create, info, map, check, rebase, stream)"),
                var (command, _) => throw new UsageException($"unknown command '{command}'; run 'orchestrator --help'"),
            };
        }
    }
}
