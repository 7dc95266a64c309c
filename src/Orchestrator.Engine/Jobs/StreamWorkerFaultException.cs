namespace Orchestrator.Engine.Jobs;

/// <summary>A stream worker crashed on an unexpected error; its supervisor restarts it after a back-off.</summary>
public sealed class StreamWorkerFaultException(string message, Exception inner) : Exception(message, inner);
