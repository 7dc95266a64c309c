using Akka.Actor;
using Akka.DependencyInjection;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using AkkaLogLevel = Akka.Event.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Akka's log events into the node's own logger, message only: the category is the logging class (as every other
/// line's is), and the timestamp and level come from the console or JSON formatter. Akka.Hosting's logger of this
/// version writes the event's own "[INFO][date][thread][source]" text inside the message, a second prefix on every
/// line and noise in JSON logs.
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _factory = DependencyResolver.For(Context.System).Resolver.GetService<ILoggerFactory>();
    private readonly Dictionary<Type, ILogger> _loggers = [];

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent log:
                Write(log);
                return true;
            default:
                return false;
        }
    }

    private void Write(LogEvent log)
    {
        if (!_loggers.TryGetValue(log.LogClass, out var logger))
        {
            logger = _factory.CreateLogger(log.LogClass.FullName ?? log.LogClass.Name);
            _loggers[log.LogClass] = logger;
        }

        var level = log.LogLevel() switch
        {
            AkkaLogLevel.DebugLevel => LogLevel.Debug,
            AkkaLogLevel.InfoLevel => LogLevel.Information,
            AkkaLogLevel.WarningLevel => LogLevel.Warning,
            _ => LogLevel.Error,
        };
        if (logger.IsEnabled(level))
        {
            logger.Log(level, log.Cause, "{AkkaSource}: {Message}", log.LogSource, Text(log.Message));
        }
    }

    private static string Text(object message)
    {
        try
        {
            // A LogMessage formats its template and arguments in ToString.
            return message?.ToString() ?? "";
        }
        catch (FormatException e)
        {
            return $"(unformattable log message: {e.Message}) {message}";
        }
    }
}
