using Akka.Actor;
using Akka.Pattern;

namespace Orchestrator.Engine.Persistence;

/// <summary>Starts the node's <see cref="EventLogActor"/> and attaches the hub to it.</summary>
public static class EventLog
{
    public const string Name = "event-log";

    /// <summary>
    /// The log under a back-off supervisor, attached to <paramref name="hub"/>: a journal that fails a write stops the
    /// log (Akka's rule for persistent actors), and the supervisor starts it again, recovered; events published while
    /// it is down are lost (Akka logs them as dead letters), never numbered twice.
    /// </summary>
    public static IActorRef Start(ActorSystem system, EventHub hub, string host)
    {
        var log = Props.Create(() => new EventLogActor(hub, host));
        var supervisor = system.ActorOf(
            BackoffSupervisor.Props(Backoff.OnStop(log, "log", TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 0.2, maxNrOfRetries: -1)),
            Name);
        hub.Attach(e => supervisor.Tell(e));
        return supervisor;
    }
}
