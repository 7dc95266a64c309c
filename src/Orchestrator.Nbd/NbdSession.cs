namespace Orchestrator.Nbd;

/// <summary>What the handshake agreed: the export, whether replies are structured, and whether base:allocation was selected.</summary>
internal sealed record NbdSession(INbdExport Export, bool Structured, bool AllocationContext)
{
    /// <summary>The id this server gives the base:allocation context (any non-zero value the client is told).</summary>
    public const uint AllocationContextId = 1;

    public const string AllocationContextName = "base:allocation";
}
