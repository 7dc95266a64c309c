using System.Collections.Concurrent;
using Akka.Event;
using Microsoft.Extensions.Logging;
using AkkaLogLevel = Akka.Event.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Writes one Akka log event to the node's own logger, message only: the category is the logging class (as every
/// other line's is), and the timestamp and level come from the console or JSON formatter. Shared by the logger actor
/// (<see cref="AkkaLogBridge"/>) and the stdout logger Akka falls back to (<see cref="AkkaStdoutBridge"/>).
/// </summary>
internal sealed class AkkaLogWriter(ILoggerFactory factory)
{
    private readonly ConcurrentDictionary<Type, ILogger> _loggers = new();

    public void Write(LogEvent log)
    {
        var logger = _loggers.GetOrAdd(log.LogClass, type => factory.CreateLogger(type.FullName ?? type.Name));
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
