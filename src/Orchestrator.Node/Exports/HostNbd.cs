using System.Globalization;
using Akka.Actor;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts;
using Orchestrator.Engine.Fleet;

namespace Orchestrator.Node.Exports;

/// <summary>
/// A disk's NBD URIs on its host, from any node: this node's own exports for its disks, the host's published endpoints
/// (<see cref="NbdEndpoints"/>) for the others. Started after the NBD server, it publishes this node's endpoints.
/// </summary>
public sealed partial class HostNbd(NbdService nbd, NodeOptions options, ActorSystem system, ILogger<HostNbd> logger) : IHostedService
{
    private readonly NbdEndpoints _endpoints = new(system);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _endpoints.PublishAsync(options.Cluster.NodeName, options.NbdSocketPath, nbd.TcpUri("d")?["nbd://".Length..^"/d".Length]);
        }
        catch (AskTimeoutException e)
        {
            // Other nodes then give this node's disks without NBD URIs until a later start publishes them.
            LogNotPublished(logger, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The URIs of <paramref name="disk"/> on <paramref name="host"/> (null or this node: its own exports).</summary>
    public async Task<NbdView> ViewAsync(string disk, string? host)
    {
        if (host is null || host == options.Cluster.NodeName)
        {
            return new NbdView(nbd.UnixUri(disk), nbd.TcpUri(disk));
        }

        var name = Uri.EscapeDataString(disk);
        return await _endpoints.OfAsync(host) is { } at
            ? new NbdView(string.Create(CultureInfo.InvariantCulture, $"nbd+unix:///{name}?socket={at.Socket}"), at.TcpAuthority is null ? null : $"nbd://{at.TcpAuthority}/{name}")
            : new NbdView("", null);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "this node's NBD endpoints were not published to the fleet: {Reason}")]
    private static partial void LogNotPublished(ILogger logger, string reason);
}
