using System.CommandLine;

namespace Orchestrator.ImageCommands.Verbs;

/// <summary>The offline image verbs, in the order help lists them: `orchestrator image VERB` and `orchestrator-img VERB`.</summary>
public static class ImageVerbs
{
    public static Command[] Build() =>
    [
        ImageCreateCommand.Build(),
        ImageInfoCommand.Build(),
        ImageMapCommand.Build(),
        ImageCheckCommand.Build(),
        ImageRebaseCommand.Build(),
        ImageStreamCommand.Build(),
    ];
}
