using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A real `orchestrator serve` child process on a free loopback port, with its own data folder and storage root
/// in a temporary folder. Stopped with SIGTERM (then killed) on dispose.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private static readonly TimeSpan _startTimeout = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private bool _disposed;

    private NodeProcess(Process process, string root, string dataDirectory, string storageRoot, int port)
    {
        _process = process;
        Root = root;
        DataDirectory = dataDirectory;
        StorageRoot = storageRoot;
        Port = port;
        Url = new Uri($"http://127.0.0.1:{port}/");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The temporary folder holding data/ and images/.</summary>
    public string Root { get; }

    public string DataDirectory { get; }

    /// <summary>The one storage root: images the tests register live here.</summary>
    public string StorageRoot { get; }

    public int Port { get; }

    public Uri Url { get; }

    public string Token { get; private set; } = string.Empty;

    /// <summary>An HTTP client that sends the bearer token.</summary>
    public HttpClient Http { get; private set; } = new();

    /// <summary>What the node printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The node's process id (for /proc/PID/status).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts a node in <paramref name="root"/> (data/ and images/ under it) and waits until it answers.</summary>
    public static Task<NodeProcess> StartAsync(string root, params string[] extraArgs) => StartAsync(root, _startTimeout, extraArgs);

    /// <summary>The same, giving up when the node does not answer GET /disks within <paramref name="readyTimeout"/>.</summary>
    public static async Task<NodeProcess> StartAsync(string root, TimeSpan readyTimeout, params string[] extraArgs)
    {
        // The free port is only free when we looked: another process may take it first, so try a few.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(root, readyTimeout, extraArgs);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    private static async Task<NodeProcess> StartOnceAsync(string root, TimeSpan readyTimeout, string[] extraArgs)
    {
        var data = Path.Combine(root, "data");
        var images = Directory.CreateDirectory(Path.Combine(root, "images")).FullName;
        var port = FreePort();
        var startInfo = new ProcessStartInfo(Orchestrator.Dotnet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = root,
        };
        foreach (var arg in new[] { Orchestrator.Dll, "serve", "--data", data, "--http", $"127.0.0.1:{port}", "--storage-root", images }.Concat(extraArgs))
        {
            startInfo.ArgumentList.Add(arg);
        }

        Orchestrator.UseCleanEnvironment(startInfo, root);

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start orchestrator serve");
        var node = new NodeProcess(process, root, data, images, port);
        try
        {
            await node.WaitUntilReadyAsync(readyTimeout);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>Runs the CLI against this node (by --data) from the storage root.</summary>
    public Task<ProcessResult> CliAsync(params string[] args) => Orchestrator.RunAsync([.. args, "--data", DataDirectory], StorageRoot);

    public string Image(string name) => Path.Combine(StorageRoot, name);

    public async ValueTask DisposeAsync()
    {
        // Idempotent: a test may stop the node itself (to check its images) inside an 'await using'.
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Http.Dispose();
        if (!_process.HasExited)
        {
            // SIGTERM first: the node should stop cleanly (and remove its endpoint file).
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    /// <summary>SIGKILL to the node (and anything it started), without waiting: for a kill that must follow an observation at once.</summary>
    public void KillNow()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>A crash: SIGKILL to the node (and anything it started), then wait until it is gone. No cleanup runs.</summary>
    public async Task KillAsync()
    {
        KillNow();

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(wait.Token);
    }

    /// <summary>Waits for the process to end by itself (after a SIGTERM sent elsewhere, or a start failure).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var endpointFile = Path.Combine(DataDirectory, NodePaths.EndpointFile);
        var tokenFile = Path.Combine(DataDirectory, NodePaths.TokenFile);
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"orchestrator serve exited with {_process.ExitCode} before it was ready:\n{Output}");
            }

            if (File.Exists(endpointFile) && File.Exists(tokenFile))
            {
                Token = (await File.ReadAllTextAsync(tokenFile)).Trim();
                Http.Dispose();
                Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) };
                Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                try
                {
                    using var response = await Http.GetAsync("disks");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"orchestrator serve was not ready within {timeout.TotalSeconds} s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
