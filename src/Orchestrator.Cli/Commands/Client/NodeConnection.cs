using Orchestrator.Contracts;
using Orchestrator.ImageCommands;

namespace Orchestrator.Cli.Commands.Client;

/// <summary>
/// Where the node is and the token to show it. Flags beat the environment, which beats the default data folder:
/// URL from --server, else --data DIR's endpoint file, else ORCHESTRATOR_SERVER, else the endpoint file of
/// ORCHESTRATOR_DATA or the default data folder, else http://127.0.0.1:8080; token from --token-file, else --data
/// DIR/token, else ORCHESTRATOR_TOKEN, else the default data folder's token file.
/// </summary>
public sealed record NodeConnection(Uri Server, string Token)
{
    public const string ServerVariable = "ORCHESTRATOR_SERVER";
    public const string TokenVariable = "ORCHESTRATOR_TOKEN";
    public const string DataVariable = "ORCHESTRATOR_DATA";

    public static NodeConnection Discover(string? serverFlag, string? tokenFileFlag, string? dataFlag)
    {
        var defaultData = Environment.GetEnvironmentVariable(DataVariable) is { Length: > 0 } d ? d : NodeDataFolder.DefaultDirectory;

        string server;
        if (serverFlag is not null)
        {
            server = serverFlag;
        }
        else if (dataFlag is not null)
        {
            server = ReadEndpoint(dataFlag)
                ?? throw new ClientException($"no orchestrator node is running with data folder '{dataFlag}' (no '{Path.Combine(dataFlag, NodeDataFolder.EndpointFile)}'): "
                    + $"start it with `orchestrator serve --data {dataFlag}`");
        }
        else
        {
            server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } fromEnv
                ? fromEnv
                : ReadEndpoint(defaultData) ?? NodeDataFolder.DefaultServerUrl;
        }

        string? token;
        if (tokenFileFlag is not null)
        {
            token = ReadToken(tokenFileFlag, mustExist: true);
        }
        else if (dataFlag is not null)
        {
            token = ReadToken(Path.Combine(dataFlag, NodeDataFolder.TokenFile), mustExist: true);
        }
        else
        {
            token = Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnv
                ? fromEnv.Trim()
                : ReadToken(Path.Combine(defaultData, NodeDataFolder.TokenFile), mustExist: false);
        }

        if (token is null)
        {
            throw new ClientException($"no API token: pass --token-file FILE, set {TokenVariable}, or --data DIR of a local node "
                + $"(looked for '{Path.Combine(defaultData, NodeDataFolder.TokenFile)}')");
        }

        if (!Uri.TryCreate(server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"'{server}' is not a node URL (for example http://127.0.0.1:8080)");
        }

        return new NodeConnection(uri, token);
    }

    private static string? ReadEndpoint(string dataFolder)
    {
        var path = Path.Combine(dataFolder, NodeDataFolder.EndpointFile);
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } url ? url : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientException($"cannot read '{path}': {e.Message}");
        }
    }

    private static string? ReadToken(string path, bool mustExist)
    {
        try
        {
            if (!File.Exists(path))
            {
                return mustExist ? throw new ClientException($"token file '{path}' does not exist") : null;
            }

            var token = File.ReadAllText(path).Trim();
            return token.Length > 0 ? token : throw new ClientException($"token file '{path}' is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientException($"cannot read the token file '{path}': {e.Message}");
        }
    }
}
