namespace Orchestrator.Qcow2.Format;

/// <summary>One header extension as found on disk; unknown ones are kept verbatim so a header rewrite preserves them.</summary>
public sealed record HeaderExtension(uint Type, byte[] Data);
