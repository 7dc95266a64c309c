namespace Orchestrator.CrashWriter;

/// <summary>What one writer operation does to its range.</summary>
public enum CrashOpKind
{
    /// <summary>Writes <see cref="CrashPattern"/> bytes of the operation.</summary>
    Data,

    /// <summary>Makes the range read as zeros (ImageChain.WriteZeroes).</summary>
    Zeroes,
}
