using Akka.Actor;
using Akka.Configuration;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Disks;

namespace Orchestrator.Engine.Tests;

/// <summary>
/// One engine process as the tests see it: its own actor system on a SQLite journal, a disk manager and an event hub.
/// Stopping it and starting another on the same journal is a node restart.
/// </summary>
internal sealed class EngineNode : IAsyncDisposable
{
    public const string DefaultName = "test-node";
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(15);
    private bool _stopped;

    private EngineNode(ActorSystem system, IActorRef manager, IActorRef registry, EventHub events, LocalDisks disks, long startSequence)
    {
        StartSequence = startSequence;
        System = system;
        Manager = manager;
        Registry = registry;
        Events = events;
        Disks = disks;
    }

    public ActorSystem System { get; }

    /// <summary>The disk front (router), which the API talks to.</summary>
    public IActorRef Manager { get; }

    public IActorRef Registry { get; }

    /// <summary>The node's open disks, as the NBD exports find them.</summary>
    public LocalDisks Disks { get; }

    public EventHub Events { get; }

    /// <summary>The last event of earlier runs (the event log restores them at start): this run's events come after it.</summary>
    public long StartSequence { get; }

    /// <summary>This run's events, once every event published so far has gone through the event log.</summary>
    public IReadOnlyList<BlockJobEvent> RunEvents()
    {
        Events.DrainAsync(AskTimeout).GetAwaiter().GetResult();
        return [.. Events.Retained().Where(e => e.Sequence > StartSequence)];
    }

    /// <param name="overrides">Configuration that wins over the SQLite journal's (fault injection).</param>
    /// <param name="nodeName">The node's name: the disks' host and the registry's stream registry-{name}.</param>
    public static EngineNode Start(string journalPath, EngineSettings settings, Config? overrides = null, string nodeName = DefaultName)
    {
        // WARNING keeps Akka's console logger quiet; failures show in assertions, not logs.
        var config = EngineFixture.SqliteConfig(journalPath, "WARNING", nodeName);
        var system = ActorSystem.Create("engine", overrides is null ? config : overrides.WithFallback(config));
        ClusterOfOne.Join(system, nodeName);
        var events = new EventHub();
        var disks = new LocalDisks();
        var (front, registry) = DiskEngine.Start(system, settings, events, disks, nodeName);
        events.WhenReady().Wait(AskTimeout);
        return new EngineNode(system, front, registry, events, disks, events.LastSequence);
    }

    /// <summary>The disk's guest I/O path once its chain is open (it opens off the actor's thread); fails after 15 s.</summary>
    public async Task<LiveDisk> LiveDisk(Orchestrator.Domain.DiskId disk)
    {
        var deadline = DateTime.UtcNow + AskTimeout;
        LiveDisk? live;
        while ((live = Disks.Find(disk)) is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"disk '{disk}' has no open guest I/O path on this node");
            }

            await Task.Delay(20);
        }

        return live;
    }

    public async Task<object> Ask(object message) => await Manager.Ask<object>(message, AskTimeout);

    /// <summary>Asks and expects <typeparamref name="T"/>; a refusal fails with its code and message.</summary>
    public async Task<T> AskOk<T>(object message) => EngineFixture.Expect<T>(await Ask(message));

    /// <summary>Asks and expects a refusal.</summary>
    public async Task<DiskReplies.Refused> AskRefused(object message)
    {
        var reply = await Ask(message);
        return reply as DiskReplies.Refused ?? throw new InvalidOperationException($"expected a refusal, got {reply}");
    }

    /// <summary>The first event (retained or live) that matches; fails after <paramref name="timeout"/> listing what was seen.</summary>
    public async Task<T> WaitForEvent<T>(Func<T, bool> match, TimeSpan timeout)
        where T : BlockJobEvent
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var e in Events.Subscribe(StartSequence, cts.Token))
            {
                if (e is T typed && match(typed))
                {
                    return typed;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below with the events seen.
        }

        throw new TimeoutException($"no {typeof(T).Name} matched within {timeout}; events: {DescribeEvents()}");
    }

    public string DescribeEvents() => string.Join("; ", Events.Retained().Where(e => e.Sequence > StartSequence).Select(Describe));

    public static string Describe(BlockJobEvent e) => e switch
    {
        JobStatusChangeEvent s => $"{s.Id}:{s.Status}",
        BlockJobCompletedEvent c => $"COMPLETED({c.Device} offset={c.Offset}/{c.Len} error={c.Error ?? "-"})",
        BlockJobCancelledEvent c => $"CANCELLED({c.Device} offset={c.Offset}/{c.Len})",
        BlockJobErrorEvent x => $"ERROR({x.Device} {x.Operation} {x.Action})",
        _ => e.Event,
    };

    /// <summary>Stops the actor system: actors stop where they are, nothing more is persisted.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
