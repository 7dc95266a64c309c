using Akka.Event;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Node.Observability;

/// <summary>
/// Akka's "stdout logger" (<c>akka.stdout-logger-class</c>), sent to the node's own logger too. Akka writes to it
/// before its logger actors start, after they stop, and, whatever <c>akka.stdout-loglevel</c> says, every event still
/// queued in a logger actor's mailbox when that actor stops (the logger mailbox drains there). Printed by Akka's own
/// StandardOutLogger those lines broke JSON logs at shutdown ("[INFO][date]... Remoting shut down").
/// </summary>
/// <remarks>
/// Akka creates this class by name with no arguments, so the logger factory reaches it through a static: the last
/// node host started in the process. Nodes in one process (tests, the demo) share one console anyway.
/// </remarks>
public sealed class AkkaStdoutBridge : MinimalLogger
{
    private static volatile AkkaLogWriter? s_writer;

    /// <summary>The HOCON line that makes Akka use this class.</summary>
    public static string Hocon => $"akka.stdout-logger-class = \"{typeof(AkkaStdoutBridge).AssemblyQualifiedName}\"";

    /// <summary>Where events go from now on, until another host replaces it.</summary>
    public static void Use(ILoggerFactory factory) => s_writer = new AkkaLogWriter(factory);

    protected override void Log(object message)
    {
        if (message is not LogEvent log)
        {
            return;
        }

        var writer = s_writer;
        if (writer is null)
        {
            Console.WriteLine(log.ToString());
            return;
        }

        try
        {
            writer.Write(log);
        }
        catch (ObjectDisposedException)
        {
            // The host's logging is already gone (its last moments): the line is lost, not printed unformatted.
        }
    }
}
