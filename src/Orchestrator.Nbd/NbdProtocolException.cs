namespace Orchestrator.Nbd;

/// <summary>The peer broke the protocol (bad magic, impossible lengths, unknown flags): the connection is closed.</summary>
public sealed class NbdProtocolException(string message) : Exception(message);
