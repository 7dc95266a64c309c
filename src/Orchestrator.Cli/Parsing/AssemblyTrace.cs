namespace Orchestrator.Cli.Parsing;

/// <summary>
/// ORCHESTRATOR_TRACE_ASSEMBLIES=1 prints, at exit, every assembly the process loaded (one "assembly: NAME" line each
/// on stderr): how the tests prove that a client or image verb loads neither ASP.NET Core nor Akka nor SQLite.
/// </summary>
public static class AssemblyTrace
{
    public const string Variable = "ORCHESTRATOR_TRACE_ASSEMBLIES";

    public static void WriteIfAsked()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            return;
        }

        foreach (var name in AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal))
        {
            Console.Error.WriteLine($"assembly: {name}");
        }
    }
}
