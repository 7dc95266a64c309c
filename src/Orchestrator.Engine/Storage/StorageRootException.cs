namespace Orchestrator.Engine;

/// <summary>A path lies outside every configured storage root.</summary>
public sealed class StorageRootException(string message) : Exception(message);
