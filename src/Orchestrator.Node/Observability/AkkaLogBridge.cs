using Akka.Actor;
using Akka.DependencyInjection;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Akka's logger actor: its log events into the node's own logger (<see cref="AkkaLogWriter"/>). Akka.Hosting's
/// logger of this version writes the event's own "[INFO][date][thread][source]" text inside the message, a second
/// prefix on every line and noise in JSON logs.
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly AkkaLogWriter _writer = new(DependencyResolver.For(Context.System).Resolver.GetService<ILoggerFactory>());

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent log:
                _writer.Write(log);
                return true;
            default:
                return false;
        }
    }
}
