using Akka.Actor;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// Sends commands to pinned entities from any node. Before asking, and every <see cref="CheckInterval"/> while waiting,
/// it reads this node's view of the membership: when the host is unreachable, leaving or gone the caller gets a
/// <see cref="HostUnreachableException"/> at once, never a timeout (the message would otherwise wait in the region,
/// or go to a dead node, until the ask expired).
/// </summary>
public sealed class HostGateway(ActorSystem system, IActorRef region)
{
    /// <summary>How often a pending ask re-reads the membership.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(system);

    public IActorRef Region { get; } = region;

    /// <summary>The host's status as this node sees it now.</summary>
    public HostStatus StatusOf(string host) => HostPlacement.StatusOf(host, MemberView.Of(_cluster.State));

    /// <summary>Asks the entity <paramref name="message"/> is for, which lives on <paramref name="host"/>.</summary>
    /// <exception cref="HostUnreachableException">The host is not reachable, before or while waiting.</exception>
    /// <exception cref="AskTimeoutException">The host is reachable but did not answer within <paramref name="timeout"/>.</exception>
    public async Task<T> AskAsync<T>(string host, object message, TimeSpan timeout, CancellationToken cancel = default)
    {
        EnsureReachable(host);
        var answer = Region.Ask<T>(message, timeout, cancel);
        while (true)
        {
            var first = await Task.WhenAny(answer, Task.Delay(CheckInterval, cancel)).ConfigureAwait(false);
            if (first == answer)
            {
                return await answer.ConfigureAwait(false);
            }

            cancel.ThrowIfCancellationRequested();
            if (StatusOf(host) != HostStatus.Up)
            {
                // The abandoned ask ends later (an answer or its timeout); observe it so it is not reported as unobserved.
                _ = answer.ContinueWith(t => t.Exception, TaskScheduler.Default);
                EnsureReachable(host);
            }
        }
    }

    private void EnsureReachable(string host)
    {
        var status = StatusOf(host);
        if (status != HostStatus.Up)
        {
            throw new HostUnreachableException(host, status);
        }
    }
}
