using System.CommandLine;
using Orchestrator.ImageCommands;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands.Verbs;

// The same verbs, arguments, output and exit codes as `orchestrator image VERB`, one level up: `orchestrator-img VERB`.
const string program = "orchestrator-img";
var root = new RootCommand("""
    The offline image verbs of `orchestrator image` (create, info, map, check, rebase, stream), as a small native
    executable that starts as fast as qemu-img. `orchestrator-img VERB --help` describes each verb.
    """);
root.With(ImageVerbs.Build());
return VerbRunner.Run(program, root, args);
