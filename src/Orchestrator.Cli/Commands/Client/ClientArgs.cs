using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Parsing;
using Orchestrator.ImageCommands.Parsing;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>The options every client verb takes: where the node is (--server, --token-file, --data) and --output json|human.</summary>
public static class ClientArgs
{
    // Nulls are printed (as the API sends them); a job's absent "error" stays absent through its own attribute.
    private static readonly JsonSerializerOptions _print = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>A client verb: its own options and arguments, then the four every client verb takes.</summary>
    public static Command Verb(string name, string description, params Symbol[] symbols) => new Command(name, description).With(
        [
            .. symbols,
            Opt.Value("--server", "URL", "the node's URL (else ORCHESTRATOR_SERVER, else the data folder's endpoint file)"),
            Opt.Value("--token-file", "FILE", "the API token (else ORCHESTRATOR_TOKEN, else the data folder's token file)"),
            Opt.Value("--data", "DIR", "the data folder of a local node: its endpoint and token"),
            Opt.Choice("--output", "output format (default human)", ["json", "human"]),
        ]);

    public static bool Json(CommandLine cl) => (cl.Value("--output") ?? "human") switch
    {
        "json" => true,
        "human" => false,
        var other => throw new UsageException($"--output must be json or human, not '{other}'"),
    };

    public static NodeClient Connect(CommandLine cl) =>
        new(NodeConnection.Discover(cl.Value("--server"), cl.Value("--token-file"), cl.Value("--data")));

    public static void PrintJson(object value) => Console.WriteLine(JsonSerializer.Serialize(value, value.GetType(), _print));

    /// <summary>A path the node will open: made absolute here, since the node's current folder is not the user's.</summary>
    public static string FullPath(string path) => Path.GetFullPath(path);

    /// <summary>An image of a chain as the user named it: absolute when it names an existing file from here, else as typed (the node matches it in the chain).</summary>
    public static string ChainName(string name) => File.Exists(name) && !Path.IsPathRooted(name) ? Path.GetFullPath(name) : name;

    /// <summary>Bytes per second, with qemu-img's suffixes (10M = 10 MiB/s); 0 = unlimited.</summary>
    public static long? Speed(CommandLine cl, string option = "--speed") => cl.Value(option) is { } text ? SizeParser.Parse(text, option) : null;
}
