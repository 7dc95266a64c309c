using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A PostgreSQL server of one test's own (cluster-config/postgres.sh in a folder of the test, on a free port), which
/// the test may stop and start again without disturbing the suite's shared server. Stopped on dispose.
/// </summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);
    private readonly string _folder;
    private readonly int _port;

    private PrivatePostgres(string folder, int port, string connectionString)
    {
        _folder = folder;
        _port = port;
        ConnectionString = connectionString;
    }

    /// <summary>Npgsql's connection string of the server's database "orchestrator".</summary>
    public string ConnectionString { get; }

    private static string Script => Path.Combine(RepositoryFolder.Root, "cluster-config", "postgres.sh");

    /// <summary>initdb in <paramref name="folder"/> and a start on a free port (installs Debian's postgresql when missing).</summary>
    public static async Task<PrivatePostgres> StartAsync(string folder)
    {
        var port = NodeProcess.FreePort();
        var connection = await RunAsync("start", folder, port);
        return new PrivatePostgres(folder, port, connection.Trim().Split('\n')[^1]);
    }

    /// <summary>A fast shutdown (pg_ctl -m fast): open connections are cut, new ones refused.</summary>
    public Task StopAsync() => RunAsync("stop", _folder, _port);

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public Task StartAgainAsync() => RunAsync("start", _folder, _port);

    public async ValueTask DisposeAsync() => await StopAsync();

    private static async Task<string> RunAsync(string verb, string folder, int port)
    {
        Directory.CreateDirectory(folder);
        var result = await ProcessRunner.RunAsync("bash", [Script, verb, folder, port.ToString(System.Globalization.CultureInfo.InvariantCulture)], folder, ScriptTimeout);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"postgres.sh {verb} {folder} {port} exited {result.ExitCode} (it needs Debian's postgresql and root or sudo):\n{result.StdErr}");
        }

        return result.StdOut;
    }
}
