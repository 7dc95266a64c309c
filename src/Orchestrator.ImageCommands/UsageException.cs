namespace Orchestrator.ImageCommands;

/// <summary>The user typed something the command cannot accept; printed as one line, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);
