using Orchestrator.Domain.Jobs;
using Orchestrator.Qcow2;

namespace Orchestrator.Engine.Jobs;

/// <summary>Which side of the copy an image error came from, for BLOCK_JOB_ERROR's operation.</summary>
public static class IoOperations
{
    /// <summary>
    /// Writes and flushes of the top are the copy's write side; everything else (reads of the chain, reads of the
    /// top's metadata) its read side. The Qcow2 library names its system calls: "write" (fault injection), "writing",
    /// "flushing", "reading", ...
    /// </summary>
    public static IoOperation Of(Qcow2Exception e) =>
        e.Operation is "write" or "writing" or "flushing" ? IoOperation.Write : IoOperation.Read;
}
