using System.Net;
using Akka.Actor;
using System.Text.Json.Serialization;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Engine;
using Orchestrator.Engine.Observability;
using Orchestrator.Engine.Disks;
using Orchestrator.Engine.Cluster;
using Orchestrator.Node.Api;
using Orchestrator.Node.Exports;
using Orchestrator.Node.Dashboard;
using Orchestrator.Node.Hosting;
using Orchestrator.Node.Observability;
using Orchestrator.Node.Qmp;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Orchestrator.Node;

/// <summary>
/// The node process: the engine (Akka, a cluster member; journal in SQLite in the data folder or in PostgreSQL) behind the HTTP API, and every disk's
/// guest I/O path as an NBD export. Every API request needs the bearer token kept in the data folder; the URL is
/// published in the data folder's endpoint file; the NBD socket is the data folder's nbd.sock.
/// </summary>
public static partial class NodeHost
{
    /// <summary>The Akka.Persistence.Sql provider for Microsoft.Data.Sqlite (linq2db's name).</summary>
    public const string SqliteProvider = Engine.Persistence.JournalSettings.SqliteProviderName;

    /// <summary>
    /// Runs the node until <paramref name="cancel"/> fires, the process is told to stop (SIGINT, SIGTERM), or the
    /// cluster stops it; returns the process's exit code: 0, or <see cref="ClusterExit.Code"/> when the cluster stopped
    /// it (downed, or its seeds never let it join) and a service manager should start it again.
    /// </summary>
    /// <exception cref="IOException">The data folder is held by another node, or the address is in use.</exception>
    public static async Task<int> RunAsync(NodeOptions options, CancellationToken cancel = default)
    {
        using var data = DataFolder.Open(options.DataDirectory);
        using var journal = SqliteJournalFile.Open(options.Journal);
        await using var app = Build(options, data, journal);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orchestrator.Node");
        await app.StartAsync(cancel);
        try
        {
            var url = ListeningUrl(app, options.Http);
            data.WriteEndpoint(url);
            LogListening(logger, url, options.DataDirectory, string.Join(", ", options.StorageRoots), data.TokenPath);
            LogCluster(logger, options.Cluster.NodeName, options.Cluster.Hostname, options.Cluster.Port,
                options.Cluster.Seeds.Count == 0 ? "itself" : string.Join(", ", options.Cluster.Seeds), options.Journal.Describe());
            if (data.TokenCreated)
            {
                LogTokenCreated(logger, data.TokenPath);
            }
            else if (data.TokenReadableByOthers)
            {
                LogTokenTooOpen(logger, data.TokenPath);
            }

            if (!options.Http.IsLoopback)
            {
                LogNotLoopback(logger, options.Http.ToString());
            }

            await app.WaitForShutdownAsync(cancel);
            if (ClusterExit.Reason(app.Services.GetRequiredService<ActorSystem>(), options.Cluster) is { } reason)
            {
                LogClusterExit(logger, reason, ClusterExit.Code);
                return ClusterExit.Code;
            }

            return 0;
        }
        finally
        {
            data.RemoveEndpoint();
            await app.StopAsync(CancellationToken.None);
        }
    }

    private static WebApplication Build(NodeOptions options, DataFolder data, SqliteJournalFile journal)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
        if (options.Observability.JsonLogs)
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = options.Http.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Http.Host);
            kestrel.Listen(address, options.Http.Port);
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
        });

        // One hub for the engine (publisher) and the API (subscribers).
        var hub = new EventHub();
        var localDisks = new LocalDisks();
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(hub);
        services.AddSingleton(new DataFolderSpace(options.DataDirectory));
        services.AddSingleton(localDisks);
        services.AddSingleton<EngineGateway>();

        // Under systemd (Type=notify): readiness notification and journald-friendly logs; elsewhere it does nothing.
        services.AddSystemd();
        services.AddSingleton<JobSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<JobSampler>());
        services.AddSingleton<NodeMeter>();
        services.AddOpenTelemetry().ConfigureResource(r => r.AddService("orchestrator-node")).WithMetrics(metrics => metrics
            .AddMeter(EngineMetrics.MeterName, NodeMeter.MeterName)
            .AddPrometheusExporter())
            // Spans request -> job start -> copy batch. No exporter is referenced, so none is configured: the spans
            // reach in-process listeners only (docs/operations.md says how to add OTLP).
            .WithTracing(tracing => tracing.AddSource(EngineMetrics.MeterName, "Microsoft.AspNetCore"));

        // Numbers are numbers: the web defaults also read "123" as 123 and document every integer as integer|string.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<OpenApiDocumentInfo>();
            o.AddOperationTransformer<JsonRequestBodyTransformer>();
        });
        services.AddAkka(ClusterSettings.SystemName, (akka, provider) =>
        {
            AkkaStdoutBridge.Use(provider.GetRequiredService<ILoggerFactory>());
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLogger<AkkaLogBridge>();
            });
            akka.WithSqlPersistence(journal.ConnectionString, options.Journal.ProviderName, autoInitialize: true);
            akka.AddHocon(journal.Overrides, HoconAddMode.Prepend);

            // What Akka logs before its loggers start and after they stop goes to the node's logger too (and so is JSON
            // when the logs are): warnings only, as those lines come while nothing else is logged.
            akka.AddHocon($"akka.stdout-loglevel = WARNING\n{AkkaStdoutBridge.Hocon}", HoconAddMode.Prepend);
            akka.AddOrchestratorCluster(options.Cluster);
            akka.AddOrchestratorEngine(options.ToEngineSettings(), hub, localDisks, options.Cluster.NodeName);
        });

        // Registered after Akka: hosted services start in order and stop in reverse, so NBD clients are served only
        // while the engine runs, and their last requests finish before it stops.
        services.AddSingleton<DiskExports>();
        services.AddSingleton<NbdService>();
        services.AddHostedService(sp => sp.GetRequiredService<NbdService>());
        services.AddSingleton<HostNbd>();
        services.AddHostedService(sp => sp.GetRequiredService<HostNbd>());
        services.AddSingleton<QmpCommands>();
        services.AddHostedService<QmpService>();

        var app = builder.Build();
        app.UseMiddleware<ApiExceptionMiddleware>();
        app.UseMiddleware<BearerTokenMiddleware>(data.Token, PublicPaths(options));
        app.UseMiddleware<FreeSpaceMiddleware>();
        app.UseMiddleware<JournalOutageMiddleware>();
        app.Services.GetRequiredService<NodeMeter>();
        app.MapHealthEndpoints();
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapDashboard();
        app.MapOpenApi();
        app.MapDiskEndpoints();
        app.MapJobEndpoints();
        app.MapEventEndpoints();
        app.MapFleetEventEndpoints();
        app.MapClusterEndpoints();
        app.MapFallback((HttpRequest request) => ApiResults.Error(StatusCodes.Status404NotFound, Contracts.ErrorCodes.NotFound,
            $"no such endpoint: {request.Method} {request.Path}; see /openapi/v1.json"));
        return app;
    }

    public const string MetricsPath = "/metrics";

    /// <summary>Paths served without the token: probes and the dashboard's static files; /metrics when so configured.</summary>
    private static HashSet<string> PublicPaths(NodeOptions options)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal) { HealthEndpoints.LivePath, HealthEndpoints.ReadyPath };
        paths.UnionWith(DashboardEndpoints.StaticPaths);
        if (!options.Observability.MetricsNeedToken)
        {
            paths.Add(MetricsPath);
        }

        return paths;
    }

    /// <summary>The URL clients on this machine use: the bound port (port 0 picks one), a wildcard host made loopback.</summary>
    private static string ListeningUrl(WebApplication app, HttpEndpoint endpoint)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var port = addresses.Select(a => new Uri(a).Port).FirstOrDefault(endpoint.Port);
        return endpoint.ClientUrl(port);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "orchestrator node listening on {Url}; data folder {DataFolder}; storage roots {Roots}; token in {TokenPath}")]
    private static partial void LogListening(ILogger logger, string url, string dataFolder, string roots, string tokenPath);

    [LoggerMessage(Level = LogLevel.Information, Message = "cluster member {NodeName} on {Host}:{Port} (0: any free port), joining {Seeds}; journal {Journal}")]
    private static partial void LogCluster(ILogger logger, string nodeName, string host, int port, string seeds, string journal);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason}: the node stops with exit code {Code} so that its service manager starts it again, a fresh incarnation")]
    private static partial void LogClusterExit(ILogger logger, string reason, int code);

    [LoggerMessage(Level = LogLevel.Information, Message = "created a new API token in {TokenPath} (mode 0600)")]
    private static partial void LogTokenCreated(ILogger logger, string tokenPath);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the token file {TokenPath} is readable or writable by other users; chmod 600 it")]
    private static partial void LogTokenTooOpen(ILogger logger, string tokenPath);

    [LoggerMessage(Level = LogLevel.Warning, Message = "listening on {Endpoint}, which is not a loopback address: the API is plain HTTP and the bearer token crosses the network in clear")]
    private static partial void LogNotLoopback(ILogger logger, string endpoint);
}
