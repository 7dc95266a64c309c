using System.CommandLine;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands.Verbs;

namespace Orchestrator.Cli.Parsing;

/// <summary>Every verb of the CLI, as one System.CommandLine tree: --help on each, --version, and the [suggest] directive for shell completion.</summary>
public static class CommandTree
{
    private const string Description = """
        Live block operations (QEMU-style block-stream and block-copy) on qcow2 chains.
        Image verbs work offline on files; client verbs (disk ... events) talk to a node started with `serve`.
        CACHE is none (O_DIRECT) or writeback (page cache, the default), as qemu-img's -t/-T.
        Client verbs take [--output json|human] and find the node by --server URL and --token-file FILE, else
        ORCHESTRATOR_SERVER and ORCHESTRATOR_TOKEN, else --data DIR of a local node (DIR/endpoint, DIR/token), else the
        default data folder. Sizes and speeds accept k, M, G suffixes. `orchestrator VERB --help` describes each verb.
        """;

    public static RootCommand Build()
    {
        var image = new Command("image", "Offline image verbs in qemu-img's words: create, info, map, check, rebase, stream").With(ImageVerbs.Build());
        var root = new RootCommand(Description);
        root.With(
            image,
            DemoCommand.Build(),
            ServeCommand.Build(),
            DiskCommand.Build(),
            SnapshotCommand.Build(),
            StreamCommand.Build(),
            BlockCopyCommand.Build(),
            JobsCommand.Build(),
            JobVerbCommand.Build(),
            EventsCommand.Build());
        return root;
    }
}
