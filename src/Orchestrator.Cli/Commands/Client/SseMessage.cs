namespace Orchestrator.Cli.Commands.Client;

/// <summary>One Server-Sent Event: its id (the node's event sequence), event name and data line.</summary>
public sealed record SseMessage(string? Id, string Event, string Data);
