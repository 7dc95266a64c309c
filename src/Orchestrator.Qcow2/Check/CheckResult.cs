namespace Orchestrator.Qcow2.Check;

/// <summary>The outcome of a metadata check, with qemu-img check's exit codes.</summary>
public sealed record CheckResult(
    int Corruptions,
    int Leaks,
    int LeaksFixed,
    IReadOnlyList<string> Messages,
    long AllocatedClusters,
    long TotalClusters,
    long ImageEndOffset)
{
    /// <summary>0 clean (or every leak repaired), 2 corruption, 3 leaks only: qemu-img check's codes.</summary>
    public int ExitCode => Corruptions > 0 ? 2 : Leaks > LeaksFixed ? 3 : 0;

    /// <summary>The first corruption found, for a refusal message that names the real problem.</summary>
    public string? FirstCorruption { get; init; }
}
